"""schemathesis against the server, in process: the schema and the server agree.

Every operation gets schema-valid (positive) and schema-invalid (negative) requests
with all of schemathesis's checks: a negative request must be refused with a 4xx, every
answer (errors included) must match its declared status, headers and body schema.

schemathesis's ``positive_data_acceptance`` treats any 400 to a schema-valid request
as a failure; a schema cannot say that a sku exists or that a shopper has the points,
so here a positive request may be refused only with a domain code (``unknown_sku``,
``insufficient_points``, ...), never with a shape code that the schema should have
prevented (``required``, ``max_length``, ``invalid``, ...): that is the promise that
matters to a generated client.
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from schemathesis.config import SchemathesisConfig

from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import AccountFactory, TierFactory
from tests.storefront.factories import ProductFactory

# Codes a serializer gives when the input's shape is wrong: the schema must prevent them.
SHAPE_CODES = {
    "required",
    "null",
    "blank",
    "invalid",
    "max_length",
    "min_length",
    "max_value",
    "min_value",
    "max_digits",
    "max_decimal_places",
    "max_whole_digits",
    "not_a_list",
    "empty",
    "invalid_choice",
    "not_a_dict",
    "max_string_length",
    "null_characters_not_allowed",
    "surrogate_characters_not_allowed",
    "date",
    "make_aware",
    "overflow",
    "parse_error",
    "unsupported_media_type",
}

CONFIG = SchemathesisConfig.from_dict(
    {
        "suppress-health-check": ["all"],
        "seed": 20261201,
        "generation": {
            "mode": "all",
            "max-examples": 6,
            "deterministic": True,
            "database": "none",
            # JSON on the wire is UTF-8: no lone surrogates (RFC 8259).
            "codec": "utf-8",
            # The caller's credential is set below; ignored_auth checks that each route refuses
            # a request without one.
            "with-security-parameters": False,
        },
        "phases": {"stateful": {"enabled": False}},
        "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "404", "409"]}},
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), config=CONFIG)


@pytest.fixture
def credentials(merchant, shopper, merchant_api, shopper_api, keep_the_test_connection):
    """A merchant with a little of everything, and the two callers' headers."""
    AccountFactory(merchant=merchant, handle="acme-koe")
    TierFactory(merchant=merchant, name="Gold", rank=1)
    ProductFactory(merchant=merchant, sku="SKU-1")
    CouponTemplateFactory(merchant=merchant)
    return {
        "merchant": merchant_api._credentials["HTTP_AUTHORIZATION"],
        "shopper": shopper_api._credentials["HTTP_AUTHORIZATION"],
    }


def refused_positive_only_for_domain_reasons(ctx, response, case):
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 400:
        return None
    shape = [e for e in response.json()["errors"] if e["code"] in SHAPE_CODES]
    assert not shape, f"schema-valid input refused for its shape: {shape}"
    return None


@schema.parametrize()
def test_the_server_answers_as_the_schema_says(case, credentials):
    path = case.operation.path
    if path.startswith("/api/v1/merchant/"):
        headers = {"Authorization": credentials["merchant"]}
    elif path.startswith("/api/v1/me/"):
        headers = {"Authorization": credentials["shopper"]}
    else:
        headers = {}
    case.call_and_validate(headers=headers, additional_checks=[refused_positive_only_for_domain_reasons])
