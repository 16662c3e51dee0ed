"""Database faults (core.db, core.errors, core.middleware) on the order path: conflicts
(40001, 40P01) retried by one wrapper and committed once;
a database that cannot serve answered 503 in the error shape, nothing written."""

import json
import threading

import pytest
from django.db import OperationalError, connection, transaction

from core.db import is_conflict, retry_on_conflict
from core.models import OutboxMessage
from storefront.models import Order
from tests.conftest import merchant_client, requires_postgres
from tests.loyalty.conftest import ORDERS, order_body
from tests.threads import all_at_once


def client_of(merchant):
    """A shop system's client that gets the 5xx answers (the test client would re-raise
    what the 503 reports to ``got_request_exception``)."""
    client = merchant_client(merchant)
    client.raise_request_exception = False
    return client


def force(sqlstate: str) -> None:
    """PostgreSQL aborts the statement (and so the transaction) with ``sqlstate``."""
    with connection.cursor() as cursor:
        cursor.execute(f"DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '{sqlstate}'; END $$")


def failing_first(real, sqlstate: str, times: int):
    """``real`` (the order service) whose whole transaction is aborted after it wrote, ``times`` times."""
    calls = {"n": 0}

    def service(**kwargs):
        calls["n"] += 1
        with transaction.atomic():
            result = real(**kwargs)
            if calls["n"] <= times:
                force(sqlstate)
        return result

    service.calls = calls
    return service


@requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_an_order_whose_transaction_loses_a_race_twice_is_retried_and_committed_once(
    sqlstate, merchant, shopper, member, monkeypatch
):
    from loyalty.apis import orders

    service = failing_first(orders.purchase_record, sqlstate, times=2)
    monkeypatch.setattr(orders, "purchase_record", service)

    response = merchant_client(merchant).post(ORDERS, order_body(shopper.external_id), format="json")

    assert response.status_code == 201, response.content
    assert service.calls["n"] == 3
    assert Order.objects.filter(merchant=merchant).count() == 1
    points = member.points_account.entries.values_list("delta", flat=True)
    assert list(points) == [response.json()["points_earned"]]  # credited once


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_an_order_that_loses_every_try_is_a_503_and_writes_nothing(merchant, shopper, member, monkeypatch):
    from loyalty.apis import orders

    service = failing_first(orders.purchase_record, "40001", times=99)
    monkeypatch.setattr(orders, "purchase_record", service)

    response = client_of(merchant).post(ORDERS, order_body(shopper.external_id), format="json")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "type": "server_error",
        "errors": [
            {"code": "service_unavailable", "detail": response.json()["errors"][0]["detail"], "attr": None}
        ],
    }
    assert service.calls["n"] == 5
    assert not Order.objects.exists()
    assert not member.points_account.entries.exists()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_deadlock_between_two_transactions_is_retried_and_both_commit_once():
    a, b = (OutboxMessage.objects.create(task="x").pk for _ in range(2))
    both_hold_one = threading.Barrier(2)
    tries = {"first": 0, "second": 0}

    def bump(name: str, first: int, second: int) -> None:
        tries[name] += 1
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE core_outbox SET attempts = attempts + 1 WHERE id = %s", [first])
            if tries[name] == 1:
                both_hold_one.wait(timeout=10)
            cursor.execute("UPDATE core_outbox SET attempts = attempts + 1 WHERE id = %s", [second])

    results = all_at_once(
        [
            lambda: retry_on_conflict(lambda: bump("first", a, b)),
            lambda: retry_on_conflict(lambda: bump("second", b, a)),
        ]
    )

    assert results == [None, None]
    assert sorted(tries.values()) == [1, 2]  # PostgreSQL broke the cycle once; the loser ran again
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {2}  # each bump once


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_conflict_inside_an_outer_transaction_is_not_retried_there():
    calls = []

    def work():
        calls.append(1)
        with transaction.atomic():
            force("40001")

    with pytest.raises(OperationalError) as raised, transaction.atomic():
        retry_on_conflict(work)

    assert is_conflict(raised.value)
    assert calls == [1]


def test_an_error_that_is_not_a_conflict_is_raised_at_once(db):
    calls = []

    def work():
        calls.append(1)
        raise OperationalError("the server closed the connection")

    with pytest.raises(OperationalError):
        retry_on_conflict(work)
    assert calls == [1]


def test_a_database_that_cannot_serve_is_a_503_in_the_error_shape_and_nothing_is_written(
    merchant, shopper, member, monkeypatch
):
    from loyalty.apis import orders

    def down(**kwargs):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    monkeypatch.setattr(orders, "purchase_record", down)

    response = client_of(merchant).post(ORDERS, order_body(shopper.external_id), format="json")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["type"] == "server_error"
    assert response.json()["errors"][0]["code"] == "service_unavailable"
    assert not Order.objects.exists()


def test_outside_the_api_a_database_that_cannot_serve_is_a_503_too(rf):
    from core.middleware import DatabaseUnavailableMiddleware

    def view(request):
        raise OperationalError("the database system is shutting down")

    middleware = DatabaseUnavailableMiddleware(view)
    response = middleware(rf.get("/admin/"))

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert json.loads(response.content)["errors"][0]["code"] == "service_unavailable"
    assert middleware.process_exception(rf.get("/admin/"), OperationalError("down")).status_code == 503
    assert middleware.process_exception(rf.get("/admin/"), ValueError("a bug")) is None  # stays a 500
