"""A Celery worker SIGKILLed in the middle of a set-based job: after a new worker starts,
the job completes with the end state of an undisturbed run.

The worker is caught mid-chunk: the test holds a row lock the chunk needs, waits until
the worker's transaction (its claim written) queues behind it, then kills the worker's
process group. PostgreSQL rolls the chunk back; Redis gives the unacknowledged task
(``acks_late``) to the next worker once the visibility timeout has passed (shortened
here to seconds by ``CELERY_VISIBILITY_TIMEOUT``).
"""

import signal

import psycopg
import pytest
from django.db import connection
from kombu import Connection

from core import outbox
from coupons.models import Campaign, CampaignRun, Coupon
from coupons.services.campaign_runs import campaign_run_request
from loyalty.celery import app as celery_app
from members.models import Follow, Shopper
from tests.coupons.factories import CouponTemplateFactory
from tests.faults.processes import Redis, celery_worker, database_url_of, service_env, stop, wait_for
from tests.members.factories import AccountFactory, MerchantFactory

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): real worker processes on one database",
    ),
    pytest.mark.django_db(transaction=True),
]

FANS = 2500  # three chunks of at most 1000


def publish(broker_url: str, task: str, **kwargs) -> None:
    """Send a task to the test's own Redis (the suite's broker is not the workers')."""
    with Connection(broker_url) as conn:
        celery_app.send_task(task, kwargs=kwargs, connection=conn)


def waiting_on_a_lock(dsn: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as db:
        row = db.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return row[0] > 0


def test_a_campaign_run_whose_worker_is_killed_mid_chunk_ends_as_an_undisturbed_run(tmp_path, monkeypatch):
    merchant = MerchantFactory()
    account = AccountFactory(merchant=merchant)
    shoppers = Shopper.objects.bulk_create(Shopper(external_id=f"kill-{i}") for i in range(FANS))
    Follow.objects.bulk_create(Follow(shopper=s, account=account) for s in shoppers)
    template = CouponTemplateFactory(merchant=merchant)
    campaign = Campaign.objects.create(
        merchant=merchant, name="Fans", template=template, audience={"followers_of": account.handle}
    )
    monkeypatch.setattr(outbox, "_relay_committed", lambda: None)  # this process never sends
    run = campaign_run_request(campaign=campaign)

    redis = Redis(tmp_path).start()
    dsn = database_url_of(connection.settings_dict)
    env = service_env(
        database_url=dsn, broker_url=f"{redis.url}/0", var=tmp_path / "var", CELERY_VISIBILITY_TIMEOUT="3"
    )
    holder = psycopg.connect(dsn.replace("postgres://", "postgresql://", 1))
    first = second = None
    try:
        # Every chunk takes the template's row: hold it, so the first chunk waits mid-transaction.
        holder.execute("SELECT id FROM coupons_coupontemplate WHERE id = %s FOR UPDATE", [template.pk])
        first = celery_worker(env, tmp_path, name="first")
        publish(f"{redis.url}/0", "coupons.campaign_run_start", run_id=run.pk)
        wait_for(lambda: waiting_on_a_lock(dsn), timeout=60, what="the worker to be mid-chunk")
        run.refresh_from_db()
        assert (run.status, run.chunks_total) == ("running", 3)

        stop(first, sig=signal.SIGKILL)
        holder.rollback()  # the lock goes; the killed chunk's transaction is gone already
        assert not Coupon.objects.filter(campaign_run=run).exists()

        second = celery_worker(env, tmp_path, name="second")
        wait_for(
            lambda: run.refresh_from_db() or run.status in ("done", "failed"), timeout=90, what="the run"
        )
    finally:
        holder.close()
        for name in ("first", "second"):
            if (tmp_path / f"{name}.log").exists():
                print(f"--- {name}\n{(tmp_path / f'{name}.log').read_text()[-3000:]}")
        stop(first, sig=signal.SIGKILL)
        stop(second)
        redis.stop()
        connection.close()

    assert (run.status, run.issued, run.audience_size, run.chunks_done) == ("done", FANS, FANS, 3)
    assert Coupon.objects.filter(campaign_run=run).count() == FANS
    assert Coupon.objects.filter(campaign_run=run).values("shopper").distinct().count() == FANS
    template.refresh_from_db()
    assert template.issued_count == FANS
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1
