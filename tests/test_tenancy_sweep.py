"""The tenancy sweep: every API operation, walked from the URL conf and the schema.

Nothing here lists the endpoints: the routes come from the URL conf (slash twins
aside), the methods and the caller of each from the OpenAPI schema (its security
requirement). Two complete tenants exist, ``alfa`` and ``zeta`` (tests/tenants.py); the
caller is alfa (its API key, or its shopper's token) and every request names zeta's
things. Then:

- an operation with path parameters names zeta's object: 404 (or 403), and zeta's rows
  are unchanged (row counts and a checksum of every column); the same request by zeta
  itself succeeds (the control: the object exists and the request was otherwise good);
- a read without path parameters shows alfa nothing of zeta's (no ``zeta`` string, no
  zeta coupon code in the answer);
- a write without path parameters whose body names zeta's things (zeta's sku, shopper,
  coupon code, template, account, the same external id) leaves zeta's rows unchanged.

A new operation is classified by the tables below: a path parameter by the collection
it follows (``products/{sku}`` names a product), a collection write by the body that
names the other tenant's things. One the sweep cannot classify fails here with a
message saying what to add; so does a route the schema lacks, or an operation without
a caller that is not one of the public ones.
"""

import json
import re
from collections.abc import Callable

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.test import APIClient

from tests.tenants import PATH_OBJECTS, Tenant, path_parameters, tenant_build, tenant_rows

API_PREFIX = "/api/v1/"
METHODS = ("get", "post", "put", "patch", "delete")

# Operations without a caller: they name no tenant's object.
PUBLIC = {"POST /api/v1/auth/register", "POST /api/v1/auth/token"}

# Where the contract answers otherwise than 404: the parameter names a public thing (an
# account, a merchant) and the operation is idempotent for the caller's own row.
IDEMPOTENT_FOR_THE_CALLER = {
    "DELETE /api/v1/me/follows/{handle}": {204},  # "Idempotent: 204 also when not following"
    "DELETE /api/v1/me/memberships/{merchant}": {204},
}

# What the owner's control request answers where it is not a 2xx: the domain's refusal,
# given only after the object was found. The seeded run has ended (failed, so that the
# resume is swept), and an ended run cannot be cancelled.
CONTROL_REFUSALS = {
    "POST /api/v1/merchant/campaigns/{id}/runs/{run}/cancel": {409},
}

# Bodies of writes with path parameters (default: none). Valid for the owner.
PATH_WRITE_BODIES: dict[str, Callable[[Tenant], dict]] = {
    "PATCH /api/v1/merchant/products/{sku}": lambda t: {"title": "Renamed"},
    "PATCH /api/v1/merchant/campaigns/{id}": lambda t: {"active": False},
    "POST /api/v1/merchant/orders/{external_id}/refunds": lambda t: {
        "external_id": f"{t.prefix}-r-1",
        "lines": [{"sku": t.product.sku, "quantity": 1}],
    },
}

# Collection writes: a body that names the other tenant's things (the same ids where the
# caller could make its own under them).
COLLECTION_WRITES: dict[str, Callable[[Tenant], dict]] = {
    # Nothing of the other tenant's can be named; its endpoints and their count stay.
    "POST /api/v1/merchant/webhooks": lambda t: {
        "url": f"https://hooks.{t.prefix}.example/other",
        "events": ["order.recorded"],
    },
    "POST /api/v1/merchant/orders": lambda t: {
        "external_id": t.order_id,
        "shopper": t.named.external_id,
        "lines": [{"sku": t.product.sku, "quantity": 1, "unit_price": "10.00"}],
        "coupon_codes": [t.coupon_code],
    },
    "POST /api/v1/merchant/coupons/validate": lambda t: {
        "shopper": t.shopper.external_id,
        "lines": [{"sku": t.product.sku, "quantity": 1, "unit_price": "10.00"}],
        "coupon_codes": [t.coupon_code],
    },
    "POST /api/v1/merchant/engagement": lambda t: {
        "events": [
            {
                "id": "ev-1",
                "shopper": t.shopper.external_id,
                "account": t.account.handle,
                "kind": "like",
                "occurred_at": timezone.now().isoformat(),
            }
        ]
    },
    "POST /api/v1/merchant/campaigns": lambda t: {
        "name": "Steal",
        "template": t.template.pk,
        "audience": {"followers_of": t.account.handle},
    },
    "POST /api/v1/merchant/coupon-templates": lambda t: {
        "name": t.template.name,
        "kind": "fixed",
        "value": "5.00",
        "valid_days": 30,
    },
    "POST /api/v1/merchant/products": lambda t: {
        "sku": t.product.sku,
        "title": "Mine",
        "price": "10.00",
    },
    "POST /api/v1/merchant/accounts": lambda t: {
        "handle": t.account.handle,
        "kind": "koe",
        "display_name": "Mine",
    },
    "POST /api/v1/merchant/tiers": lambda t: {
        "name": f"{t.prefix} gold",
        "rank": 3,
        "min_spend_12m": "100.00",
    },
    "PATCH /api/v1/merchant/program": lambda t: {
        "join_coupon_template": t.template.pk,
        "repurchase_template": t.template.pk,
    },
    "POST /api/v1/me/coupons/exchange": lambda t: {"merchant": t.merchant.slug, "template": t.template.pk},
    # Following or joining another merchant is allowed; the other shopper's rows stay theirs.
    "POST /api/v1/me/follows": lambda t: {"account": t.account.handle},
    "POST /api/v1/me/memberships": lambda t: {"merchant": t.merchant.slug},
}

PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def _routes(resolver=None, prefix: str = "/") -> list[str]:
    """Every route of the URL conf as an OpenAPI path (``/api/v1/merchant/orders/{external_id}``)."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found.extend(_routes(entry, route))
        elif isinstance(entry, URLPattern):
            found.append(PARAMETER.sub(r"{\1}", route))
    return found


def _schema() -> dict:
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


ROUTES = sorted({r for r in _routes() if r.startswith(API_PREFIX) and not r.endswith("/")})
SCHEMA_PATHS = _schema()["paths"]


def _caller(operation: dict) -> str | None:
    names = {name for requirement in operation.get("security", []) for name in requirement}
    if "merchantApiKey" in names:
        return "merchant"
    if "shopperToken" in names:
        return "shopper"
    return None


OPERATIONS = [
    (method.upper(), path, SCHEMA_PATHS[path][method])
    for path in ROUTES
    if path in SCHEMA_PATHS
    for method in METHODS
    if method in SCHEMA_PATHS[path]
]
SWEPT = [(m, p, op) for m, p, op in OPERATIONS if f"{m} {p}" not in PUBLIC]


@pytest.fixture
def tenants(db):
    return tenant_build("alfa"), tenant_build("zeta")


def _client(tenant: Tenant, caller: str) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=tenant.merchant_auth if caller == "merchant" else tenant.shopper_auth
    )
    return client


def _send(client: APIClient, method: str, url: str, body: dict | None):
    if body is None:
        return getattr(client, method.lower())(url)
    return getattr(client, method.lower())(url, body, format="json")


def _fill(path: str, tenant: Tenant) -> str:
    for collection, name in path_parameters(path):
        path = path.replace(f"{{{name}}}", PATH_OBJECTS[(collection, name)](tenant))
    return path


# --- The sweep covers everything ----------------------------------------------------


def test_the_url_conf_and_the_schema_list_the_same_api_operations():
    assert ROUTES, "the URL conf walk found no API route"
    missing = [r for r in ROUTES if r not in SCHEMA_PATHS]
    assert not missing, f"routes the schema lacks (the sweep cannot classify them): {missing}"
    extra = [p for p in SCHEMA_PATHS if p.startswith(API_PREFIX) and p not in ROUTES]
    assert not extra, f"schema paths with no route: {extra}"


def test_the_sweep_reaches_operations_of_both_callers():
    callers = {_caller(op) for _, _, op in SWEPT}
    assert callers == {"merchant", "shopper"}
    assert len(SWEPT) >= 40


@pytest.mark.parametrize(
    ("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS]
)
def test_every_operation_is_classified(method, path, operation):
    label = f"{method} {path}"
    caller = _caller(operation)
    if caller is None:
        assert label in PUBLIC, f"{label} has no caller (security) and is not in PUBLIC: classify it"
        return
    for key in path_parameters(path):
        assert key in PATH_OBJECTS, f"{label}: add {key} to PATH_OBJECTS (which object does it name?)"
    if not path_parameters(path) and method != "GET":
        assert label in COLLECTION_WRITES, (
            f"{label}: add a body naming the other tenant's things to COLLECTION_WRITES"
        )


# --- Another tenant's object --------------------------------------------------------

OBJECT_OPERATIONS = [(m, p, op) for m, p, op in SWEPT if path_parameters(p)]


@pytest.mark.parametrize(
    ("method", "path", "operation"), OBJECT_OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OBJECT_OPERATIONS]
)
def test_another_tenants_object_is_not_found_and_nothing_changes(tenants, method, path, operation):
    label = f"{method} {path}"
    if any(key not in PATH_OBJECTS for key in path_parameters(path)):
        pytest.fail(f"{label} is not classified (see test_every_operation_is_classified)")
    caller = _caller(operation)
    alfa, zeta = tenants
    url = _fill(path, zeta)
    body = PATH_WRITE_BODIES.get(label, lambda t: None)(zeta)
    before = tenant_rows(zeta, caller)

    # when: alfa's credential names zeta's object
    response = _send(_client(alfa, caller), method, url, body)

    # then: not found (or forbidden), in the error shape, and zeta's rows are as they were
    expected = {403, 404} | IDEMPOTENT_FOR_THE_CALLER.get(label, set())
    assert response.status_code in expected, (
        f"{label} as alfa: {response.status_code} {response.content[:500]}"
    )
    if response.status_code >= 400:
        assert response.json()["type"] == "client_error"
    assert tenant_rows(zeta, caller) == before, f"{label} as alfa changed zeta's rows"
    assert "zeta" not in response.content.decode().replace(url, ""), "the refusal shows zeta's data"

    # control: zeta itself reaches the same object with the same request
    own = _send(_client(zeta, caller), method, url, body)
    assert 200 <= own.status_code < 300 or own.status_code in CONTROL_REFUSALS.get(label, set()), (
        f"{label} as zeta (control): {own.status_code} {own.content[:500]}"
    )


# --- Collections ------------------------------------------------------------------

COLLECTION_READS = [(m, p, op) for m, p, op in SWEPT if not path_parameters(p) and m == "GET"]
COLLECTION_WRITE_OPS = [(m, p, op) for m, p, op in SWEPT if not path_parameters(p) and m != "GET"]


@pytest.mark.parametrize(
    ("method", "path", "operation"), COLLECTION_READS, ids=[f"{m} {p}" for m, p, _ in COLLECTION_READS]
)
def test_a_read_shows_nothing_of_another_tenant(tenants, method, path, operation):
    alfa, zeta = tenants
    caller = _caller(operation)

    response = _client(alfa, caller).get(path)

    assert response.status_code == 200, response.content[:500]
    text = response.content.decode()
    assert "zeta" not in text.lower(), f"{path} shows alfa zeta's data: {text[:1000]}"
    assert zeta.coupon_code not in text
    assert _client(zeta, caller).get(path).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    COLLECTION_WRITE_OPS,
    ids=[f"{m} {p}" for m, p, _ in COLLECTION_WRITE_OPS],
)
def test_a_write_naming_another_tenants_things_changes_none_of_them(tenants, method, path, operation):
    label = f"{method} {path}"
    if label not in COLLECTION_WRITES:
        pytest.fail(f"{label} is not classified (see test_every_operation_is_classified)")
    alfa, zeta = tenants
    caller = _caller(operation)
    before = tenant_rows(zeta, caller)

    response = _send(_client(alfa, caller), method, path, COLLECTION_WRITES[label](zeta))

    assert response.status_code < 500, response.content[:500]
    assert tenant_rows(zeta, caller) == before, (
        f"{label} as alfa changed zeta's rows: {response.content[:500]}"
    )
    if response.status_code < 300 and caller == "merchant":
        # What alfa made is alfa's: zeta's coupon was not redeemed nor reported as alfa's.
        assert zeta.coupon_code not in response.content.decode().replace("rejected", "")


def test_the_checksum_sees_a_change_to_a_tenants_row(tenants):
    # A positive control for the comparisons above: one column of one row moves the checksum.
    _, zeta = tenants
    for caller in ("merchant", "shopper"):
        before = tenant_rows(zeta, caller)
        zeta.shopper.display_name = f"changed by {caller}"
        zeta.shopper.save(update_fields=["display_name"])
        assert tenant_rows(zeta, caller) != before
