"""core.api.validated: one set of bound input fields per serializer, shared by every request.

Sharing the fields must not share a request's outcome: each validation reads only its own
body, in any order and in threads at once, and gives what a fresh serializer gives.
"""

import threading
from decimal import Decimal

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.api import validated
from loyalty.apis.orders import OrderListCreateApi

ORDER_INPUT = OrderListCreateApi.InputSerializer


def body(external_id: str, **changes) -> dict:
    return {
        "external_id": external_id,
        "shopper": "shp-1",
        "lines": [{"sku": "LIP-01", "quantity": 2, "unit_price": "89.5"}],
        **changes,
    }


def request_with(data: dict) -> Request:
    return Request(APIRequestFactory().post("/", data, format="json"), parsers=[JSONParser()])


def fresh(data: dict):
    serializer = ORDER_INPUT(data=data)
    return serializer.validated_data if serializer.is_valid() else serializer.errors


def test_a_valid_body_gives_what_a_fresh_serializer_gives():
    data = body("A-1", coupon_codes=["X1", "Y2"], via_account="acme-anna")
    assert validated(ORDER_INPUT, request_with(data)) == fresh(data)
    assert validated(ORDER_INPUT, request_with(data))["lines"][0]["unit_price"] == Decimal("89.50")


def test_an_invalid_body_then_a_valid_one_keep_their_own_outcomes():
    with pytest.raises(ValidationError) as raised:
        bad_line = {"sku": "S", "quantity": 0, "unit_price": 1}
        validated(ORDER_INPUT, request_with(body("A/2", lines=[bad_line])))
    detail = raised.value.detail
    assert set(detail) == {"external_id", "lines"}
    assert detail["lines"][0]["quantity"][0].code == "min_value"
    assert detail["lines"][0]["unit_price"][0].code == "invalid"  # a number, not a decimal string

    assert validated(ORDER_INPUT, request_with(body("A-3")))["external_id"] == "A-3"


def test_threads_validating_at_once_each_get_their_own_body():
    outcomes, errors = {}, []

    def run(n: int) -> None:
        try:
            for round_no in range(50):
                external_id = f"T-{n}-{round_no}"
                bad = round_no % 2 == 0
                data = body(external_id, lines=[] if bad else body(external_id)["lines"])
                try:
                    outcomes[external_id] = validated(ORDER_INPUT, request_with(data))["external_id"]
                except ValidationError as refused:
                    outcomes[external_id] = sorted(refused.detail)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    for external_id, outcome in outcomes.items():
        round_no = int(external_id.rsplit("-", 1)[1])
        assert outcome == (["lines"] if round_no % 2 == 0 else external_id)
