"""No request, however odd, gets a 500: schemathesis against every operation of the schema.

For each operation of the OpenAPI schema, Hypothesis draws requests from schemathesis'
strategies, in positive mode (what the schema allows) and in negative mode (what it
refuses: wrong types, out of range, missing fields, odd strings, NUL bytes), and sends
them through the WSGI application with the right credential for the operation (a
merchant API key or a shopper token). The data they meet exists: a merchant with a
catalog, accounts, tiers, templates, an order, and a member with points and a coupon;
an operation with path parameters is also fuzzed with those parameters naming real rows.

Bounded and deterministic (``derandomize``), so that CI finds the same thing every
time: ``FUZZ_EXAMPLES`` examples per operation and mode (10 by default; raise it for a
deeper run, e.g. ``FUZZ_EXAMPLES=300 make test PYTEST_ARGS=tests/test_fuzz_no_server_errors.py``).
Every 5xx it found is also kept as a plain test beside the code it concerns.
"""

import json
import os
from decimal import Decimal

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from knox.models import AuthToken
from schemathesis import GenerationMode

from loyalty.services.memberships import membership_enrol
from loyalty.services.purchases import OrderInput, OrderLineInput, purchase_record
from members.services import follow_create
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.loyalty.factories import PointsEntryFactory, ProgramFactory
from tests.members.factories import (
    AccountFactory,
    MerchantAPIKeyFactory,
    MerchantFactory,
    ShopperFactory,
    TierFactory,
    UserFactory,
)
from tests.storefront.factories import ProductFactory

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))


def _load_schema():
    document = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))
    schema.config.generation.update(with_security_parameters=False)
    schema.app = get_wsgi_application()
    return schema


SCHEMA = _load_schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def _security(operation) -> str | None:
    for requirement in operation.definition.raw.get("security", []):
        for name in requirement:
            if name in {"merchantApiKey", "shopperToken"}:
                return name
    return None


# The real rows a path parameter can name, per operation path.
def _seeded_path_parameters(path: str, world: dict) -> dict:
    values = {
        "sku": "S0",
        "handle": "fuzz-koe",
        "merchant": world["merchant"].slug,
        "external_id": "named-77" if "/shoppers/" in path else "o-1",
        "id": str(world["template"].pk),
    }
    return values


CASES = [
    pytest.param(operation, mode, seeded, id=f"{operation.label} {mode.value}{' seeded' if seeded else ''}")
    for operation in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    for seeded in ((False, True) if operation.path_parameters else (False,))
]


@pytest.fixture
def keep_the_test_connection():
    """As Django's test client does: a request must not close the connection that holds
    the test's transaction (on PostgreSQL ``close_old_connections`` would)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(db, settings, keep_the_test_connection):
    """The rows the fuzzed requests meet, and a credential of each kind."""
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    merchant = MerchantFactory(slug="fuzz-shop")
    ProgramFactory(merchant=merchant, points_per_unit=Decimal("1"), points_expiry_days=365)
    for index in range(3):
        ProductFactory(merchant=merchant, sku=f"S{index}", price=Decimal("10.00"))
    AccountFactory(merchant=merchant, handle="fuzz-koe", kind="koe")
    TierFactory(merchant=merchant, name="Gold", rank=3, min_spend_12m=Decimal("100.00"))
    template = CouponTemplateFactory(merchant=merchant, points_price=10, stock=100, per_member_limit=5)
    shopper = ShopperFactory(external_id="fuzz-shopper", user=UserFactory(username="fuzz-shopper"))
    membership = membership_enrol(shopper=shopper, merchant=merchant).membership
    PointsEntryFactory(account=membership.points_account, delta=1000, remaining=1000)
    follow_create(shopper=shopper, handle="fuzz-koe")
    CouponFactory(template=template, shopper=shopper)
    for external_id, buyer in (("o-1", "fuzz-shopper"), ("o-2", "named-77")):
        purchase_record(
            merchant=merchant,
            order=OrderInput(
                external_id=external_id,
                shopper=buyer,
                lines=(OrderLineInput(sku="S0", quantity=2, unit_price=Decimal("10.00")),),
            ),
        )
    _, token = AuthToken.objects.create(user=shopper.user)
    return {
        "merchant": merchant,
        "template": template,
        "headers": {
            "merchantApiKey": f"Api-Key {MerchantAPIKeyFactory(merchant=merchant).plain_key}",
            "shopperToken": f"Token {token}",
        },
    }


@pytest.mark.parametrize(("operation", "mode", "seeded"), CASES)
def test_no_request_gets_a_server_error(world, operation, mode, seeded):
    path_parameters = _seeded_path_parameters(operation.path, world) if seeded else None
    path_parameters = (
        {name: value for name, value in path_parameters.items() if name in _names(operation)}
        if path_parameters
        else None
    )
    credential = world["headers"].get(_security(operation))
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        if credential is not None:
            case.headers = {**(case.headers or {}), "Authorization": credential}
        response = case.call()
        assert response.status_code < 500, (
            f"{response.status_code} for {case.as_curl_command()}\n{response.text[:2000]}"
        )

    try:
        run()
    except Unsatisfiable:
        # Negative mode of an operation whose every input is free text (a cursor, say).
        pytest.skip("nothing this operation takes can be made invalid by its schema")


def _names(operation) -> set[str]:
    return {parameter.name for parameter in operation.path_parameters}
