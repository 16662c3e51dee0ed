import pytest
from django.apps import apps
from django.core import signals
from django.db import close_old_connections, connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.clock import T0, Clock
from tests.members.factories import (
    MerchantAPIKeyFactory,
    MerchantFactory,
    MerchantStaffFactory,
    ShopperFactory,
    UserFactory,
)

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL): row locks and real concurrency",
)


@pytest.fixture
def migrate_to(transactional_db):
    """Migrate the test database to some targets and return the apps of that state.

    Whatever the test does, the database is put back on the latest migrations afterwards:
    a test left on an old state drops the tables of every later migration for the tests
    that follow it on the same database.
    """

    def migrate(targets):
        executor = MigrationExecutor(connection)
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    yield migrate
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def api():
    """An API client with no credentials."""
    return APIClient()


@pytest.fixture
def merchant(db):
    return MerchantFactory()


@pytest.fixture
def other_merchant(db):
    return MerchantFactory()


def merchant_client(merchant) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {MerchantAPIKeyFactory(merchant=merchant).plain_key}")
    return client


def shopper_client(shopper) -> APIClient:
    if shopper.user is None:
        shopper.user = UserFactory(username=shopper.external_id)
        shopper.save(update_fields=["user"])
    _, token = AuthToken.objects.create(user=shopper.user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def staff_client(merchant) -> Client:
    """A browser logged in to the admin as a staff user of ``merchant``."""
    client = Client()
    client.force_login(MerchantStaffFactory(merchant=merchant).user)
    return client


@pytest.fixture
def merchant_api(merchant):
    """An API client authenticated as ``merchant``'s shop system."""
    return merchant_client(merchant)


@pytest.fixture
def other_merchant_api(other_merchant):
    return merchant_client(other_merchant)


@pytest.fixture
def shopper(db):
    return ShopperFactory()


@pytest.fixture
def shopper_api(shopper):
    """An API client logged in as ``shopper``."""
    return shopper_client(shopper)


@pytest.fixture
def other_shopper(db):
    return ShopperFactory()


@pytest.fixture
def other_shopper_api(other_shopper):
    return shopper_client(other_shopper)


def assert_error(response, status: int, code: str, attr: str | None = None) -> None:
    """The contract's error shape with the expected status and code (and field)."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["type"] in {"validation_error", "client_error"}
    assert isinstance(body["errors"], list) and body["errors"]
    codes = [(e["code"], e["attr"]) for e in body["errors"]]
    if attr is None:
        assert code in [c for c, _ in codes], codes
    else:
        assert (code, attr) in codes, codes


def row_counts() -> dict:
    """Rows per table of every installed model: equal before and after a request that writes nothing."""
    return {model._meta.label: model._base_manager.count() for model in apps.get_models()}


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """``timezone.now()`` frozen at ``tests.clock.T0`` (every caller of ``timezone.now`` sees it)."""
    frozen = Clock(T0)
    monkeypatch.setattr(timezone, "now", frozen)
    return frozen


def walk_pages(client, url: str, params: dict | None = None, *, between=None) -> list[dict]:
    """Every row of a cursor-paginated list, following ``next``; ``between()`` runs after each page
    (to write rows mid-walk: a stable cursor neither repeats nor skips what was there)."""
    response = client.get(url, params or {})
    rows = []
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        rows.extend(body["results"])
        if between is not None:
            between()
        if body["next"] is None:
            return rows
        response = client.get(body["next"])


@pytest.fixture
def keep_the_test_connection():
    """As Django's test client does: a request must not close the connection that holds
    the test's transaction (on PostgreSQL ``close_old_connections`` would)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
