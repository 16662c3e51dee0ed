"""Requests an attacker sends: each gets a clean 4xx in the contract's shape and writes nothing.

Transport-level findings of the hostile-input review (issue 8): bodies too deep or too
big, NUL bytes in paths, query strings, cursors and credentials, unknown routes, and
error answers that grow with the input.
"""

import base64
import json

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from core.errors import MAX_REPORTED_ERRORS
from core.pagination import CursorPage
from core.parsers import MAX_JSON_DEPTH
from tests.conftest import assert_error, row_counts
from tests.loyalty.conftest import ORDERS

REGISTER = "/api/v1/auth/register"


def raw_post(client, path, body: str | bytes, **headers):
    return client.generic("POST", path, body, content_type="application/json", **headers)


# --- Bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [REGISTER, ORDERS, "/api/v1/merchant/coupons/validate"])
def test_json_nested_a_thousand_levels_deep_is_a_parse_error(api, db, merchant_api, path):
    before = row_counts()

    response = raw_post(merchant_api, path, "[" * 1000 + "]" * 1000)

    assert_error(response, 400, "parse_error")
    assert row_counts() == before


def test_json_just_deeper_than_the_limit_is_a_parse_error_and_at_the_limit_is_parsed(api, db):
    too_deep = '{"username": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}"
    at_limit = '{"username": ' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + "}"

    assert_error(raw_post(api, REGISTER, too_deep), 400, "parse_error")
    assert_error(raw_post(api, REGISTER, at_limit), 400, "invalid", "username")


def test_a_lone_surrogate_in_a_string_is_a_parse_error_and_writes_nothing(api, db):
    before = row_counts()

    response = raw_post(api, REGISTER, '{"username": "eve", "password": "pass-\\ud800-word-long"}')

    assert_error(response, 400, "parse_error")
    assert row_counts() == before


@pytest.mark.parametrize("path", [REGISTER, ORDERS])
def test_a_body_over_the_upload_limit_is_413_in_the_error_shape(api, db, merchant_api, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = row_counts()

    response = raw_post(merchant_api, path, json.dumps({"username": "a" * 2000, "password": "x"}))

    assert_error(response, 413, "request_too_large")
    assert row_counts() == before


def test_a_body_of_three_megabytes_is_413_with_the_default_limit(api, db):
    response = raw_post(api, REGISTER, json.dumps({"username": "a" * 3_000_000, "password": "x"}))

    assert_error(response, 413, "request_too_large")


def test_an_answer_lists_a_bounded_number_of_errors_and_says_how_many_more(merchant_api, db):
    # 10,000 bad lines: one error for the list's length, never 10,000 in the answer
    body = {"external_id": "o", "shopper": "s", "lines": [{"sku": "", "quantity": 0}] * 10_000}

    response = merchant_api.post(ORDERS, body, format="json")

    assert_error(response, 400, "max_length", "lines")
    assert len(response.content) < 2_000


def test_many_field_errors_are_capped_with_a_count_of_the_rest(merchant_api, db):
    # 200 lines (the most an order takes), each with three bad fields: 600 errors
    body = {
        "external_id": "o",
        "shopper": "s",
        "lines": [{"sku": "", "quantity": 0, "unit_price": "x"}] * 200,
    }

    response = merchant_api.post(ORDERS, body, format="json")

    errors = response.json()["errors"]
    assert response.status_code == 400
    assert len(errors) == MAX_REPORTED_ERRORS + 1
    assert errors[-1] == {
        "code": "too_many_errors",
        "detail": f"And {600 - MAX_REPORTED_ERRORS} more errors not listed.",
        "attr": None,
    }


# --- Paths ------------------------------------------------------------------------------


def _routes_with_parameters():
    """Every API route that takes a path parameter, as a path with each parameter a NUL."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if route.startswith("api/") and "<" in route and not route.endswith("/"):
                    yield route

    import re

    for route in walk(get_resolver().url_patterns):
        yield "/" + re.sub(r"<(?:\w+:)?\w+>", "%00", route)


PARAMETER_ROUTES = sorted(set(_routes_with_parameters()))


def test_every_route_with_a_parameter_is_covered():
    assert "/api/v1/merchant/orders/%00/refunds" in PARAMETER_ROUTES
    assert "/api/v1/merchant/products/%00" in PARAMETER_ROUTES
    assert "/api/v1/me/follows/%00" in PARAMETER_ROUTES


@pytest.mark.parametrize("path", PARAMETER_ROUTES)
@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
def test_a_nul_byte_in_a_path_parameter_is_404_in_the_error_shape(merchant_api, shopper_api, path, method):
    client = merchant_api if "/merchant/" in path else shopper_api
    before = row_counts()

    response = client.generic(method, path, "{}", content_type="application/json")

    assert_error(response, 404, "not_found")
    assert row_counts() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/nope",
        "/api/v1/",
        "/api/v1/merchant/orders/a/b/refunds",
        "/api/v1/me/memberships/Not_A_Slug!/points",
    ],
    ids=["unknown", "version-root", "extra-segment", "fails-the-slug-converter"],
)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_routes_under_api_answer_404_in_the_error_shape(db, path, method):
    response = Client().generic(method, path, "{}", content_type="application/json")

    assert_error(response, 404, "not_found")
    assert response["Content-Type"] == "application/json"


# --- Query strings and cursors ----------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "path", "query", "status", "code"),
    [
        ("merchant", "/api/v1/merchant/members", {"tier": "\x00"}, 400, "null_characters_not_allowed"),
        ("shopper", "/api/v1/me/coupons", {"merchant": "\x00"}, 400, "invalid"),
        ("shopper", "/api/v1/me/frequently-purchased", {"merchant": "\x00"}, 400, "invalid"),
    ],
)
def test_a_nul_byte_in_a_query_parameter_is_a_clean_4xx(
    merchant_api, shopper_api, caller, path, query, status, code
):
    client = merchant_api if caller == "merchant" else shopper_api

    assert_error(client.get(path, query), status, code)


def _cursor(position: str) -> str:
    """A cursor signed by the server (as another list's would be) whose position is hostile."""
    return CursorPage().signer.sign(base64.b64encode(f"p={position}".encode()).decode())


@pytest.mark.parametrize(
    "position",
    ["not-a-number", "99999999999999999999999", "-1", "1\x00", "9999-12-31 23:00:00-05:00"],
    ids=["text", "beyond-bigint", "negative", "nul", "overflowing-time"],
)
@pytest.mark.parametrize(
    "path", ["/api/v1/me/follows", "/api/v1/me/frequently-purchased", "/api/v1/me/coupons"]
)
def test_a_cursor_whose_position_the_column_cannot_hold_is_400_invalid_cursor(shopper_api, path, position):
    response = shopper_api.get(path, {"cursor": _cursor(position)})

    assert_error(response, 400, "invalid_cursor", "cursor")


def test_a_cursor_the_server_did_not_sign_is_400_invalid_cursor(shopper_api):
    unsigned = base64.b64encode(b"p=1").decode()

    assert_error(shopper_api.get("/api/v1/me/follows", {"cursor": unsigned}), 400, "invalid_cursor", "cursor")


def test_a_hostile_cursor_on_a_text_ordering_is_400(merchant_api):
    response = merchant_api.get("/api/v1/merchant/accounts", {"cursor": _cursor("a\x00b")})

    assert_error(response, 400, "invalid_cursor", "cursor")


# --- Credentials ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "path"),
    [("Api-Key abc\x00.def", "/api/v1/merchant/members"), ("Token abc\x00def", "/api/v1/me/follows")],
    ids=["api-key", "token"],
)
def test_a_nul_byte_in_a_credential_is_401(db, header, path):
    response = Client().get(path, HTTP_AUTHORIZATION=header)

    assert_error(response, 401, "authentication_failed")
