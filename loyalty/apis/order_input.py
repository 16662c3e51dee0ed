"""An order's body checked the fast way when it is plainly well formed.

DRF's parser, the JSON type check (``core.api_input``) and the nested serializer took
about a third of a millisecond of an order's CPU, an eighth of the request
(docs/performance.md, "Orders over HTTP"). ``well_formed_order`` decodes the body
straight into typed structs (msgspec: compiled, no walk over a parsed document) and
checks each value against the bounds of the serializer's own bound fields, so the limits
stay defined once, in ``OrderListCreateApi.InputSerializer``.

It only ever says yes (the validated data, equal to what the serializer gives) or "not
sure" (None). Anything it does not take goes the general way, which accepts it or refuses
it with the usual errors: a wrong JSON type, an unknown field, a value out of bounds, text
outside a plain ASCII set (so no trimming, control characters or surrogates to judge), a
price spelled other than plain digits, duplicate coupon codes, a body that is not UTF-8
JSON. So it accepts a subset of what the general way accepts, with the same values
(tests/loyalty/test_order_input.py checks both on generated bodies).
"""

import re
from decimal import Decimal

import msgspec
from rest_framework.exceptions import ValidationError

# Text that every text field of the body takes unchanged: nothing to trim, no control
# characters, no "/" (an order id is a path segment), nothing a validator refuses.
_PLAIN = re.compile(r"[A-Za-z0-9_.@+:-]+")
# A shopper id is also a username: letters, digits and @ . + - _ (SHOPPER_ID_VALIDATOR).
_SHOPPER = re.compile(r"[A-Za-z0-9_.@+-]+")
_UTF8 = frozenset({"utf-8", "utf8"})


class _Line(msgspec.Struct, forbid_unknown_fields=True):
    sku: str
    quantity: int
    unit_price: str


class _Order(msgspec.Struct, forbid_unknown_fields=True):
    external_id: str
    shopper: str
    lines: list[_Line]
    paid_at: str | None = None
    via_account: str | None = None
    coupon_codes: list[str] = msgspec.field(default_factory=list)


_DECODER = msgspec.json.Decoder(_Order)


class OrderBodyRules:
    """The bounds of ``serializer_class``'s bound fields, read once."""

    def __init__(self, fields):
        self.external_id = fields["external_id"].max_length
        self.shopper = fields["shopper"].max_length
        self.via_account = fields["via_account"].max_length
        self.paid_at = fields["paid_at"]
        lines = fields["lines"]
        self.lines = lines.max_length
        line = lines.child.fields
        self.sku = line["sku"].max_length
        self.quantity = (line["quantity"].min_value, line["quantity"].max_value)
        price = line["unit_price"]
        self.price = (price.min_value, price.max_value)
        self.cent = Decimal(1).scaleb(-price.decimal_places)
        # Plain digits, at most as many as the column holds before and after the point.
        self.price_spelling = re.compile(
            rf"(?:0|[1-9][0-9]{{0,{price.max_digits - price.decimal_places - 1}}})"
            rf"(?:\.[0-9]{{1,{price.decimal_places}}})?"
        )
        codes = fields["coupon_codes"]
        self.codes = codes.max_length
        self.code = codes.child.max_length


def well_formed_order(request, rules: OrderBodyRules) -> dict | None:
    """The order's validated data when its body is plainly well formed, else None (the
    caller then checks it the general way, which says what is wrong)."""
    if request.content_type != "application/json" or (request.encoding or "utf-8").lower() not in _UTF8:
        return None
    try:
        order = _DECODER.decode(request.body)
    except (msgspec.MsgspecError, ValueError):
        return None
    if not (
        _plain(order.external_id, rules.external_id)
        and _plain(order.shopper, rules.shopper, _SHOPPER)
        and (order.via_account is None or _plain(order.via_account, rules.via_account))
        and 1 <= len(order.lines) <= rules.lines
        and len(order.coupon_codes) <= rules.codes
        and len(set(order.coupon_codes)) == len(order.coupon_codes)
        and all(_plain(code, rules.code) for code in order.coupon_codes)
    ):
        return None
    lines = []
    low, high = rules.quantity
    for line in order.lines:
        price = _price(line.unit_price, rules)
        if price is None or not _plain(line.sku, rules.sku) or not low <= line.quantity <= high:
            return None
        lines.append({"sku": line.sku, "quantity": line.quantity, "unit_price": price})
    paid_at = None
    if order.paid_at is not None:
        try:
            paid_at = rules.paid_at.run_validation(order.paid_at)  # the field itself: zones are subtle
        except ValidationError:
            return None
    return {
        "external_id": order.external_id,
        "shopper": order.shopper,
        "paid_at": paid_at,
        "via_account": order.via_account,
        "lines": lines,
        "coupon_codes": list(order.coupon_codes),
    }


def _plain(text: str, limit: int, spelling: re.Pattern = _PLAIN) -> bool:
    return len(text) <= limit and spelling.fullmatch(text) is not None


def _price(text: str, rules: OrderBodyRules) -> Decimal | None:
    if not rules.price_spelling.fullmatch(text):
        return None
    value = Decimal(text).quantize(rules.cent)
    low, high = rules.price
    return value if low <= value <= high else None
