"""``run_campaign ID [--resume RUN]``: starts or resumes a run, shows a progress bar, prints
the run's counts. The tasks run in this process as soon as they are sent (a real worker
process is the end-to-end test's)."""

import contextlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from coupons.models import Campaign, CampaignRun, CampaignRunChunk, Coupon
from coupons.services import campaign_runs
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import AccountFactory, FollowFactory, MerchantFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def eager_tasks(monkeypatch):
    """Each campaign task runs when it is sent (on commit), as a worker would at once; a task
    that raises is logged by the worker, not raised into the sender."""
    from coupons import tasks

    def run(task, kwargs):
        with contextlib.suppress(Exception):
            task.run(**kwargs)

    for task in (tasks.campaign_run_start, tasks.campaign_chunks_issue):
        monkeypatch.setattr(task, "delay", lambda task=task, **kwargs: run(task, kwargs))


@pytest.fixture
def campaign(small_chunks) -> Campaign:
    merchant = MerchantFactory()
    account = AccountFactory(merchant=merchant)
    FollowFactory.create_batch(5, account=account)
    return Campaign.objects.create(
        merchant=merchant,
        name="Fans",
        template=CouponTemplateFactory(merchant=merchant),
        audience={"followers_of": account.handle},
    )


def test_run_campaign_starts_a_run_shows_its_progress_and_prints_its_counts(campaign, eager_tasks):
    out = StringIO()
    call_command("run_campaign", str(campaign.pk), "--interval", "0.05", stdout=out)

    run = CampaignRun.objects.get(campaign=campaign)
    assert (run.status, run.issued) == ("done", 5)
    assert "[##############################] 100% 3/3 chunks, issued 5" in out.getvalue()
    assert f"Run {run.pk}: done; audience 5, issued 5, skipped 0 (limit 0, stock 0)" in out.getvalue()


def test_run_campaign_resume_finishes_a_failed_run_with_the_coupons_of_an_undisturbed_one(
    campaign, eager_tasks, monkeypatch
):
    real = campaign_runs._chunk_issue
    calls = []

    def second_chunk_fails(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        return real(**kwargs)

    monkeypatch.setattr(campaign_runs, "_chunk_issue", second_chunk_fails)
    with pytest.raises(CommandError, match="failed"):
        call_command("run_campaign", str(campaign.pk), "--interval", "0.05", stdout=StringIO())
    run = CampaignRun.objects.get(campaign=campaign)
    assert run.status == "failed"
    assert CampaignRunChunk.objects.filter(run=run, done_at__isnull=True).exists()

    out = StringIO()
    call_command("run_campaign", str(campaign.pk), "--resume", str(run.pk), "--interval", "0.05", stdout=out)

    run.refresh_from_db()
    assert (run.status, run.issued, run.chunks_done) == ("done", 5, 3)
    assert Coupon.objects.filter(campaign_run=run).count() == 5
    assert f"Run {run.pk}: done; audience 5, issued 5" in out.getvalue()
    assert "100%" in out.getvalue()


def test_run_campaign_refuses_an_unknown_run_and_writes_nothing(campaign):
    with pytest.raises(CommandError, match="has no run 999"):
        call_command("run_campaign", str(campaign.pk), "--resume", "999", stdout=StringIO())
    assert not CampaignRun.objects.exists()
