"""The fast check of an engagement batch takes only what the general checks take, unchanged.

``well_formed_batch`` (msgspec structs and a tight loop) answers "well formed, here are
the events" or "not sure"; on "not sure" the view runs the general checks, which give
the errors. So whatever the fast check takes, the general checks must take too, with the
same values; otherwise a hostile batch could slip past the rules by the fast door.
"""

import json
from datetime import UTC, datetime, timedelta

from django.test import RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from core.api import validated
from core.parsers import StrictJSONParser
from loyalty.apis.engagement import EngagementRecordApi
from loyalty.apis.engagement_input import well_formed_batch

PATH = "/api/v1/merchant/engagement"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def request(body: bytes | str, content_type: str = "application/json") -> Request:
    raw = RequestFactory().post(PATH, data=body, content_type=content_type)
    return Request(raw, parsers=[StrictJSONParser()])


def general(body: bytes | str, content_type: str = "application/json"):
    """The general checks' events as tuples, or None when they refuse the batch."""
    try:
        data = validated(EngagementRecordApi.InputSerializer, request(body, content_type))
    except APIException:
        return None
    return [
        (e["shopper"], e["account"], e["kind"], e["occurred_at"], e["quantity"], e["sku"], e.get("id"))
        for e in data["events"]
    ]


def fast(body: bytes | str, content_type: str = "application/json"):
    events = well_formed_batch(request(body, content_type))
    if events is None:
        return None
    return [(e.shopper, e.account, e.kind, e.occurred_at, e.quantity, e.sku, e.source_id) for e in events]


def good(**overrides) -> dict:
    return {
        "id": "e1",
        "shopper": "fan-1",
        "account": "lin",
        "kind": "like",
        "quantity": 2,
        "sku": "SKU-1",
        "occurred_at": NOW.isoformat(),
    } | overrides


def test_a_plain_batch_takes_the_fast_way_with_the_general_ways_values():
    body = json.dumps({"events": [good(), good(id=None, sku=None, kind="live_watch", quantity=90)]})

    taken = fast(body)

    assert taken is not None
    assert taken == general(body)


def test_an_empty_batch_is_well_formed():
    assert fast(json.dumps({"events": []})) == [] == general(json.dumps({"events": []}))


# Values a platform (or an attacker) might put in each field: good ones and hostile ones.
texts = st.one_of(
    st.sampled_from(["fan-1", " fan-1 ", "", "   ", "a\x00b", "x" * 49, "x" * 51, "x" * 151, "lin", "é"]),
    st.text(max_size=8),
    st.integers(-2, 2),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
times = st.one_of(
    st.sampled_from(
        [
            NOW.isoformat(),
            (NOW - timedelta(days=400)).isoformat(),
            "2026-12-01T12:00:00",  # no zone
            "2026-12-01T12:00:00Z",
            "1999-12-31T23:59:59+00:00",
            "2026-13-01T00:00:00Z",
            "yesterday",
            "",
        ]
    ),
    texts,
)
kinds = st.one_of(
    st.sampled_from(["view", "like", "comment", "share", "live_watch", "purchase", "poke"]), texts
)
quantities = st.one_of(st.integers(-1, 1442), st.sampled_from([1.0, 2.5, "3", True, None, 10**30]))
fields = {
    "id": texts,
    "shopper": texts,
    "account": texts,
    "kind": kinds,
    "quantity": quantities,
    "sku": texts,
    "occurred_at": times,
    "extra": texts,
}


@st.composite
def events(draw):
    event = {}
    for name, values in fields.items():
        if draw(st.booleans()) or (
            name in ("shopper", "account", "kind", "occurred_at") and draw(st.booleans())
        ):
            event[name] = draw(values)
    return event


@settings(max_examples=300, deadline=None)
@given(batch=st.lists(events(), max_size=3))
def test_whatever_the_fast_way_takes_the_general_way_takes_with_the_same_values(batch):
    body = json.dumps({"events": batch})

    taken = fast(body)

    if taken is not None:
        assert taken == general(body)


def test_what_only_the_general_way_can_judge_goes_the_general_way():
    # given: bodies the fast way cannot be sure of
    deep = json.dumps(
        {"events": [good()], "note": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}
    )
    bodies = [
        (deep, "application/json"),  # an unknown field (the general parser refuses the depth)
        ('{"events": [{"shopper": "\\ud800", "account": "lin", "kind": "like", "occurred_at": "x"}]}', None),
        (json.dumps({"events": [good()] * 1001}), None),  # too many
        (json.dumps({"events": [good()]}), "text/plain"),  # not JSON by its type
        (json.dumps({"events": [good(quantity=1.0)]}), None),  # a number that is not an integer
        (json.dumps({"events": [good(occurred_at="2026-12-01T12:00:00")]}), None),  # no zone
        (json.dumps({"events": [good(id=" ")]}), None),  # blank id
    ]
    for body, content_type in bodies:
        # then: the fast way says "not sure"
        assert fast(body, content_type or "application/json") is None, body[:80]
