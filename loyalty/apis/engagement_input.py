"""The shape check of an engagement batch, written out by hand for speed.

A batch holds up to 1000 events; DRF's nested serializers take about 90 ms of CPU to
check 1000 of them, more than the rest of the request together. ``EventListField``
checks the same rules (those of ``EngagementEventInput``, which documents them in the
schema) in plain Python, about ten times faster, and reports errors in DRF's shape:
one dict per event, so a bad field comes out as ``attr: "events.3.kind"``.

``well_formed_batch`` goes further for the common case, a batch with nothing wrong in
it: msgspec decodes the body straight into typed structs (compiled, no dicts, no walk
over the parsed document) and a tight loop checks the values. It only ever says yes or
"not sure": anything it does not take (a wrong type, an unknown field, a value out of
range, odd encodings) goes the general way (``StrictJSONParser``, the JSON type check,
``EventListField``), which refuses it with the usual errors. So it accepts a subset of
what the general way accepts, with the same values (tests/loyalty/test_engagement_input.py).
"""

from datetime import UTC, datetime

import msgspec
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from core.fields import AwareDateTimeField
from members.engagement.models import EngagementKind
from members.engagement.services import MAX_BATCH, MAX_QUANTITY, EventInput
from members.errors import EngagementTooOld

KINDS = frozenset(EngagementKind.values)
TEXT_LIMITS = {"id": 128, "shopper": 150, "account": 50, "sku": 64}
REQUIRED = ("shopper", "account", "kind", "occurred_at")
# Older events would weigh nothing; the bound also keeps times far from datetime's limits.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def _error(message: str, code: str) -> list[ErrorDetail]:
    return [ErrorDetail(message, code=code)]


def _text(value, name: str, errors: dict, *, allow_blank: bool = False) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors[name] = _error("Not a valid string.", "invalid")
        return None
    text = str(value).strip()
    if "\x00" in text:
        errors[name] = _error("Null characters are not allowed.", "null_characters_not_allowed")
        return None
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        errors[name] = _error("Surrogate characters are not allowed.", "surrogate_characters_not_allowed")
        return None
    if not text and not allow_blank:
        errors[name] = _error("This field may not be blank.", "blank")
        return None
    if len(text) > TEXT_LIMITS[name]:
        errors[name] = _error(
            f"Ensure this field has no more than {TEXT_LIMITS[name]} characters.", "max_length"
        )
        return None
    return text


def _quantity(value, errors: dict) -> int | None:
    if isinstance(value, bool):
        value = None
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and value.strip().isdigit()
    ):
        value = int(value)
    if not isinstance(value, int):
        errors["quantity"] = _error("A valid integer is required.", "invalid")
        return None
    if value < 1:
        errors["quantity"] = _error("Ensure this value is greater than or equal to 1.", "min_value")
        return None
    if value > MAX_QUANTITY:
        errors["quantity"] = _error(
            f"Ensure this value is less than or equal to {MAX_QUANTITY}.", "max_value"
        )
        return None
    return value


def _moment(value, errors: dict) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        errors["occurred_at"] = _error(
            "Datetime has wrong format. Use ISO 8601, e.g. 2026-12-01T12:30:00Z.", "invalid"
        )
        return None
    if not timezone.is_aware(moment):
        # As core.fields.AwareDateTimeField: a time without its zone is refused, not guessed.
        errors["occurred_at"] = _error(AwareDateTimeField.default_error_messages["naive"], "naive")
        return None
    if moment < EARLIEST:
        errors["occurred_at"] = _error(EngagementTooOld.default_detail, EngagementTooOld.code)
        return None
    return moment


def check_event(item) -> tuple[dict | None, dict]:
    """One event: ``(values, {})`` when well formed, else ``(None, errors by field)``."""
    if not isinstance(item, dict):
        return None, {"non_field_errors": _error("Invalid data. Expected a dictionary.", "invalid")}
    errors: dict = {}
    for name in REQUIRED:
        if item.get(name) is None:
            errors[name] = _error(
                "This field is required." if name not in item else "This field may not be null.",
                "required" if name not in item else "null",
            )
    values = {
        "shopper": _text(item["shopper"], "shopper", errors) if "shopper" not in errors else None,
        "account": _text(item["account"], "account", errors) if "account" not in errors else None,
        "occurred_at": _moment(item["occurred_at"], errors) if "occurred_at" not in errors else None,
        "quantity": _quantity(item["quantity"], errors) if "quantity" in item else 1,
        "sku": _text(item["sku"], "sku", errors, allow_blank=True) if item.get("sku") is not None else "",
        "id": _text(item["id"], "id", errors) if item.get("id") is not None else None,
    }
    if "kind" not in errors:
        kind = item["kind"]
        if not isinstance(kind, str) or kind not in KINDS:
            errors["kind"] = _error(f'"{kind}" is not a valid choice.', "invalid_choice")
        values["kind"] = kind
    return (None, errors) if errors else (values, {})


class EngagementEventInput(serializers.Serializer):
    id = serializers.CharField(
        max_length=128, required=False, help_text="The platform's event id: a redelivery counts once."
    )
    shopper = serializers.CharField(
        max_length=150, help_text="The platform's user id; unknown ones are created."
    )
    account = serializers.CharField(max_length=50, help_text="Handle of one of the merchant's accounts.")
    kind = serializers.ChoiceField(choices=EngagementKind.choices)
    quantity = serializers.IntegerField(
        min_value=1,
        max_value=MAX_QUANTITY,
        default=1,
        help_text="Minutes watched for live_watch; else a count.",
    )
    sku = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    occurred_at = AwareDateTimeField(
        help_text="With its zone; at most a few minutes ahead of the server's clock."
    )


class EventListField(serializers.ListField):
    """``events``: the list of ``EngagementEventInput`` (its child, for the schema)."""

    def __init__(self, **kwargs):
        super().__init__(child=EngagementEventInput(), max_length=MAX_BATCH, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str | dict) or not hasattr(data, "__iter__"):
            self.fail("not_a_list", input_type=type(data).__name__)
        data = list(data)
        if len(data) > MAX_BATCH:
            raise serializers.ValidationError(
                _error(f"Ensure this field has no more than {MAX_BATCH} elements.", "max_length")
            )
        events, errors, failed = [], [], False
        for item in data:
            values, item_errors = check_event(item)
            errors.append(item_errors)
            failed = failed or bool(item_errors)
            events.append(values)
        if failed:
            raise serializers.ValidationError(errors)
        return events


class _Event(msgspec.Struct, forbid_unknown_fields=True):
    shopper: str
    account: str
    kind: str
    occurred_at: str
    quantity: int = 1
    sku: str | None = None
    id: str | None = None


class _Batch(msgspec.Struct, forbid_unknown_fields=True):
    events: list[_Event]


_DECODER = msgspec.json.Decoder(_Batch)
_UTF8 = frozenset({"utf-8", "utf8"})


def _plain(text: str, limit: int) -> str | None:
    """``text`` stripped when it is a value ``_text`` takes unchanged, else None."""
    text = text.strip()
    if not text or len(text) > limit or "\x00" in text:
        return None
    if not text.isascii():
        try:
            text.encode("utf-8")  # lone surrogates (the decoder refuses them too)
        except UnicodeEncodeError:
            return None
    return text


def well_formed_batch(request) -> list[EventInput] | None:
    """The batch's events when the body is plainly well formed, else None (the caller
    then checks it the general way, which reports what is wrong)."""
    if request.content_type != "application/json" or (request.encoding or "utf-8").lower() not in _UTF8:
        return None
    try:
        batch = _DECODER.decode(request.body)
    except (msgspec.MsgspecError, ValueError):
        return None
    if len(batch.events) > MAX_BATCH:
        return None
    events = []
    for e in batch.events:
        shopper = _plain(e.shopper, TEXT_LIMITS["shopper"])
        account = _plain(e.account, TEXT_LIMITS["account"])
        if shopper is None or account is None or e.kind not in KINDS or not 1 <= e.quantity <= MAX_QUANTITY:
            return None
        sku = ""
        if e.sku is not None:
            sku = e.sku.strip()
            if sku and _plain(sku, TEXT_LIMITS["sku"]) is None:
                return None
        source_id = None
        if e.id is not None and (source_id := _plain(e.id, TEXT_LIMITS["id"])) is None:
            return None
        try:
            moment = datetime.fromisoformat(e.occurred_at)
        except ValueError:
            return None
        if moment.utcoffset() is None or moment < EARLIEST:
            return None
        events.append(
            EventInput(
                shopper=shopper,
                account=account,
                kind=e.kind,
                occurred_at=moment,
                quantity=e.quantity,
                sku=sku,
                source_id=source_id,
            )
        )
    return events
