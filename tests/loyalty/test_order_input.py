"""The fast check of an order's body takes only what the general checks take, unchanged.

``well_formed_order`` (msgspec structs, the serializer's own bounds) answers "well
formed, here are the values" or "not sure"; on "not sure" the view runs the general
checks, which give the errors. So whatever the fast check takes, the general checks must
take too, with the same values; otherwise a hostile order could slip past the rules by
the fast door.
"""

import json
from datetime import UTC, datetime

from django.test import RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from core.api import validated
from core.parsers import StrictJSONParser
from loyalty.apis.order_input import well_formed_order
from loyalty.apis.orders import OrderListCreateApi, _order_rules

PATH = "/api/v1/merchant/orders"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def request(body: bytes | str, content_type: str = "application/json") -> Request:
    raw = RequestFactory().post(PATH, data=body, content_type=content_type)
    return Request(raw, parsers=[StrictJSONParser()])


def general(body: bytes | str, content_type: str = "application/json"):
    """The general checks' values, or None when they refuse the body."""
    try:
        data = validated(OrderListCreateApi.InputSerializer, request(body, content_type))
    except APIException:
        return None
    return _plain(data)


def fast(body: bytes | str, content_type: str = "application/json"):
    data = well_formed_order(request(body, content_type), _order_rules())
    return None if data is None else _plain(data)


def _plain(data: dict) -> dict:
    """Values with their types (a Decimal's exponent too), lines as plain dicts."""
    return {
        **data,
        "lines": [
            {**line, "unit_price": (type(line["unit_price"]), str(line["unit_price"]))}
            for line in data["lines"]
        ],
        "paid_at": None if data["paid_at"] is None else (data["paid_at"], str(data["paid_at"].tzinfo)),
    }


def line(**overrides) -> dict:
    return {"sku": "LIP-01", "quantity": 2, "unit_price": "89.00"} | overrides


def good(**overrides) -> dict:
    return {"external_id": "A-1001", "shopper": "douyin-4471", "lines": [line()]} | overrides


def test_a_plain_order_takes_the_fast_way_with_the_general_ways_values():
    bodies = [
        good(),
        good(paid_at="2026-12-01T10:00:00Z", via_account="acme-anna", coupon_codes=["WELCOME-7QX2", "B2"]),
        good(
            paid_at="2026-12-01T18:00:00+08:00",
            via_account=None,
            lines=[line(unit_price="5"), line(sku="S2")],
        ),
        good(lines=[line(unit_price="0"), line(sku="S2", unit_price="0.5", quantity=100_000)]),
    ]
    for body in map(json.dumps, bodies):
        taken = fast(body)

        assert taken is not None, body
        assert taken == general(body)


# Values a shop system (or an attacker) might put in each field: good ones and hostile ones.
texts = st.one_of(
    st.sampled_from(
        ["A-1001", " A-1001 ", "", " ", "a\x00b", "a/b", "x" * 50, "x" * 51, "x" * 200, "é", "a:b", "a b"]
    ),
    st.text(max_size=6),
    st.integers(-2, 2),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
prices = st.one_of(
    st.sampled_from(["89.00", "5", "0", "0.00", "-0", "-1.00", "007", "1.234", "1e3", " 5", "9999999999.99"]),
    st.sampled_from(["10000000000", "99999999999.9", "NaN", "Infinity", "٣", "1_0", ".5", "5."]),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    st.integers(0, 100),
    st.floats(allow_nan=False),
    texts,
)
quantities = st.one_of(st.integers(-1, 100_001), st.sampled_from([1.0, 2.5, "3", True, None, 10**30]))
times = st.one_of(
    st.sampled_from(
        [
            "2026-12-01T10:00:00Z",
            "2026-12-01T10:00:00Z",
            "2026-12-01T10:00:00+08:00",
            "2026-12-01T10:00:00.123456-03:30",
            "2026-12-01T10:00:00",  # no zone
            "2026-12-01",
            "2026-13-01T00:00:00Z",
            "yesterday",
            "",
        ]
    ),
    texts,
)


def mostly(good, hostile):
    """The good value six times in ten, a near miss of it twice (a space at an end, a
    character a rule refuses), else a hostile value: many drawn orders take the fast way,
    and its edges are walked."""
    near = [good]
    if isinstance(good, str):
        near = [
            f" {good}",
            f"{good} ",
            f"{good[:1]}/{good[1:]}",
            f"{good[:1]} {good[1:]}",
            f"{good}\x00",
            f"{good}é",
        ]
        near += [f"{good}:", f"{good}\u202e", good * 30]
    return st.integers(0, 9).flatmap(
        lambda n: st.just(good) if n < 6 else st.sampled_from(near) if n < 8 else hostile
    )


line_fields = {
    "sku": mostly("LIP-01", texts),
    "quantity": mostly(2, quantities),
    "unit_price": mostly("89.00", prices),
    "extra": texts,
}
order_fields = {
    "external_id": mostly("A-1001", texts),
    "shopper": mostly("douyin-4471", texts),
    "paid_at": mostly("2026-12-01T10:00:00Z", times),
    "via_account": mostly("acme-anna", texts),
    "coupon_codes": mostly(
        ["C1"],
        st.one_of(st.lists(st.sampled_from(["C1", "C2", "é"]), max_size=3), st.lists(texts, max_size=2)),
    ),
    "note": texts,
}
# How often a field is there, in tenths: the required ones nearly always, unknown ones rarely.
PRESENCE = {"sku": 9, "quantity": 9, "unit_price": 9, "external_id": 9, "shopper": 9, "extra": 1, "note": 1}


@st.composite
def drawn(draw, fields: dict) -> dict:
    values = {}
    for name, strategy in fields.items():
        if draw(st.integers(0, 9)) < PRESENCE.get(name, 5):
            values[name] = draw(strategy)
    return values


@st.composite
def orders(draw):
    order = draw(drawn(order_fields))
    if draw(st.integers(0, 9)):
        order["lines"] = draw(
            st.lists(drawn(line_fields), min_size=draw(st.integers(0, 9)) and 1, max_size=3)
        )
    return order


@settings(max_examples=400, deadline=None)
@given(order=orders())
def test_whatever_the_fast_way_takes_the_general_way_takes_with_the_same_values(order):
    body = json.dumps(order)

    taken = fast(body)

    if taken is not None:
        assert taken == general(body)


def test_what_only_the_general_way_can_judge_goes_the_general_way():
    # given: bodies the fast way cannot be sure of
    bodies = [
        (json.dumps(good(note=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]])), None),
        ('{"external_id": "A-1", "shopper": "s", "lines": [], "note": "\\ud800"}', None),  # a lone surrogate
        (json.dumps(good()), "text/plain"),  # not JSON by its type
        (json.dumps(good(lines=[])), None),  # no lines
        (json.dumps(good(lines=[line()] * 201)), None),  # too many
        (json.dumps(good(lines=[line(quantity=1.0)])), None),  # a number that is not an integer
        (json.dumps(good(lines=[line(unit_price=89)])), None),  # a price that is not a decimal string
        (json.dumps(good(lines=[line(unit_price="1.234")])), None),  # too many decimals
        (json.dumps(good(paid_at="2026-12-01T12:00:00")), None),  # no zone
        (json.dumps(good(external_id=" A-1001")), None),  # to be trimmed
        (json.dumps(good(external_id="A/1001")), None),  # not a path segment
        (json.dumps(good(shopper="douyin:4471")), None),  # not a username
        (json.dumps(good(coupon_codes=["C1", "C1"])), None),  # a code twice
        (json.dumps(good(via_account="")), None),  # blank
        (b"\xef\xbb\xbf" + json.dumps(good()).encode(), None),  # a byte-order mark
    ]
    for body, content_type in bodies:
        # then: the fast way says "not sure"
        assert fast(body, content_type or "application/json") is None, body[:80]
