import threading
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from coupons.locks import coupons_lock_by_code, scheduled_coupons_lock
from loyalty.locks import points_accounts_lock
from members.locks import memberships_lock
from tests.conftest import requires_postgres
from tests.coupons.factories import CouponFactory, ScheduledCouponFactory
from tests.loyalty.factories import PointsAccountFactory

ROOT = Path(__file__).resolve().parents[2]
APPS = ("core", "members", "storefront", "coupons", "loyalty")


def test_select_for_update_is_written_only_in_the_lock_helper():
    """Every row lock goes through an app's locks.py, so it is taken in primary-key order."""
    writers = sorted(
        str(path.relative_to(ROOT))
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "select_for_update(" in path.read_text()
    )

    assert writers == ["core/locks.py"]


def sql_of(evaluate) -> str:
    with CaptureQueriesContext(connection) as queries:
        evaluate()
    assert len(queries) == 1
    return queries[0]["sql"]


@requires_postgres
def test_points_accounts_are_locked_by_id_with_their_memberships_when_asked(db):
    account = PointsAccountFactory()

    sql = sql_of(
        lambda: (
            points_accounts_lock(with_membership=True)
            .select_related("membership__shopper")
            .filter(pk=account.pk)
            .first()
        )
    )

    assert 'ORDER BY "loyalty_pointsaccount"."id" ASC' in sql
    assert sql.endswith('FOR UPDATE OF "loyalty_pointsaccount", "members_membership"')


@requires_postgres
def test_a_plain_lock_locks_its_own_rows_only_not_what_it_joins(db):
    account = PointsAccountFactory()

    sql = sql_of(lambda: points_accounts_lock().select_related("membership").filter(pk=account.pk).first())

    assert sql.endswith('FOR UPDATE OF "loyalty_pointsaccount"')


@requires_postgres
def test_an_orders_coupons_are_locked_by_id_and_their_templates_only_read(db):
    coupons = [CouponFactory() for _ in range(2)]
    merchant = coupons[0].merchant
    coupons[1].merchant = merchant
    coupons[1].save(update_fields=["merchant"])

    with CaptureQueriesContext(connection) as queries:
        found = coupons_lock_by_code(merchant=merchant, codes=[c.code for c in reversed(coupons)])

    assert set(found) == {c.code for c in coupons}
    (sql,) = [q["sql"] for q in queries]
    assert 'ORDER BY "coupons_coupon"."id" ASC' in sql
    assert sql.endswith('FOR UPDATE OF "coupons_coupon"')


def test_no_codes_cost_no_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert coupons_lock_by_code(merchant=None, codes=[]) == {}


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_membership_locked_by_one_transaction_is_waited_for_by_another():
    membership = PointsAccountFactory().membership
    held, release = threading.Event(), threading.Event()
    waited: list = []

    def holder():
        try:
            with transaction.atomic():
                memberships_lock().get(pk=membership.pk)
                held.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(timeout=10)
        with transaction.atomic():
            connection.cursor().execute("SET LOCAL lock_timeout = '200ms'")
            try:
                memberships_lock().get(pk=membership.pk)
            except Exception as exc:  # the lock timeout: it waited for the holder
                waited.append(type(exc).__name__)
    finally:
        release.set()
        thread.join(timeout=20)

    assert waited == ["OperationalError"]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_skip_locked_passes_over_a_promise_another_worker_holds():
    held_promise, free_promise = ScheduledCouponFactory(), ScheduledCouponFactory()
    held, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                scheduled_coupons_lock().get(pk=held_promise.pk)
                held.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert held.wait(timeout=10)
        with transaction.atomic():
            free = list(scheduled_coupons_lock(skip_locked=True).values_list("pk", flat=True))
    finally:
        release.set()
        thread.join(timeout=20)

    assert free == [free_promise.pk]
