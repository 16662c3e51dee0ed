"""End to end: a campaign run through the API by a real Celery worker process on PostgreSQL
and Redis, watched to its end, its coupons found; then ``run_campaign`` does it again."""

import time
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from coupons.models import CampaignRun, Coupon
from coupons.services.campaign_runs import CAMPAIGN_CHUNK
from members.fan_counts import fan_counts_recount
from members.models import Follow, Shopper
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import AccountFactory, MerchantAPIKeyFactory, MerchantFactory
from tests.workers import celery_worker

ROOT = Path(__file__).resolve().parents[2]
FANS = 2 * CAMPAIGN_CHUNK + 500  # three chunks
pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"),
        reason="needs PostgreSQL and Redis (set DATABASE_URL and CELERY_BROKER_URL): a real worker process",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def celery_worker_process(tmp_path):
    """A worker on the test database and the suite's broker; stopped (and waited for) after."""
    with celery_worker(tmp_path / "worker.log") as worker:
        yield worker
        print((tmp_path / "worker.log").read_text()[-5000:])  # shown when the test fails


def wait_for(condition, *, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail("timed out")


def test_a_campaign_run_through_the_api_by_a_real_worker(celery_worker_process):
    from rest_framework.test import APIClient

    merchant = MerchantFactory()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {MerchantAPIKeyFactory(merchant=merchant).plain_key}")
    account = AccountFactory(merchant=merchant)
    shoppers = Shopper.objects.bulk_create(Shopper(external_id=f"e2e-{i}") for i in range(FANS))
    Follow.objects.bulk_create(Follow(shopper=s, account=account) for s in shoppers)
    fan_counts_recount(account_ids=[account.pk])
    template = CouponTemplateFactory(merchant=merchant, stock=FANS - 100)

    created = api.post(
        "/api/v1/merchant/campaigns",
        {"name": "Fans", "template": template.pk, "audience": {"followers_of": account.handle}},
        format="json",
    )
    assert created.status_code == 201, created.content
    campaign = created.json()["id"]
    started = api.post(f"/api/v1/merchant/campaigns/{campaign}/run")
    assert started.status_code == 202, started.content
    run = started.json()["run"]

    def finished():
        body = api.get(f"/api/v1/merchant/campaigns/{campaign}/runs/{run}").json()
        return body if body["status"] in {"done", "failed"} else None

    progress = wait_for(finished)
    assert {
        k: progress[k] for k in ("status", "audience_size", "issued", "skipped_stock", "chunks_total")
    } == {
        "status": "done",
        "audience_size": FANS,
        "issued": FANS - 100,
        "skipped_stock": 100,
        "chunks_total": 3,
    }
    assert Coupon.objects.filter(campaign_run_id=run).count() == FANS - 100
    template.refresh_from_db()
    assert template.issued_count == FANS - 100

    # The command starts a second run through the same worker and reports it.
    template.stock = None
    template.per_member_limit = 2
    template.save()
    out = StringIO()
    call_command("run_campaign", str(campaign), "--interval", "0.2", "--timeout", "120", stdout=out)

    second = CampaignRun.objects.exclude(pk=run).get(campaign_id=campaign)
    assert (second.status, second.issued) == ("done", FANS)
    assert f"Run {second.pk}: done; audience {FANS}, issued {FANS}, skipped 0" in out.getvalue()
    assert "100%" in out.getvalue()
