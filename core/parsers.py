"""The API's one parser: JSON, refusing what would break a later layer.

- nesting deeper than ``MAX_JSON_DEPTH`` (Python's decoder recurses, and 1,000 levels
  raise ``RecursionError``; no request of the contract nests more than four);
- strings holding a lone surrogate (``"\\ud800"``): valid JSON, but not text that
  UTF-8 can encode, so a database, a hasher or a log line would fail on it later.

Both are a 400 ``parse_error`` in the contract's shape, before any view runs.
"""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.") from None
        _check(data)
        return data


def _check(data) -> None:
    """Walk the document without recursion: depth and encodable strings."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError("JSON parse error - a string holds a lone surrogate, which is not text.") from None
