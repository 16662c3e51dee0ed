"""A campaign run tells the merchant's webhooks about each coupon it issues and about its end."""

import pytest

from coupons.services import campaign_runs
from members.webhooks import endpoints
from members.webhooks.models import WebhookEvent
from tests.coupons.test_campaign_runs import a_campaign, started

pytestmark = pytest.mark.django_db


def listen(merchant, *types: str) -> None:
    endpoints.webhook_endpoint_create(
        merchant=merchant, url="https://hooks.example.com/c", events=list(types)
    )
    merchant.refresh_from_db()


def events(type: str) -> list[dict]:
    return [event.payload for event in WebhookEvent.objects.filter(type=type).order_by("pk")]


def test_a_finished_run_sends_its_figures_once(merchant, worker, small_chunks):
    listen(merchant, "campaign.run.finished")
    campaign, _ = a_campaign(merchant, 5, stock=4)
    run = started(campaign, worker)
    worker.drain()

    run.refresh_from_db()
    [finished] = events("campaign.run.finished")
    assert finished == {
        "run": run.pk,
        "campaign": campaign.pk,
        "campaign_name": "Fans",
        "status": "done",
        "audience_size": 5,
        "issued": 4,
        "skipped": 1,
        "skipped_limit": 0,
        "skipped_stock": 1,
        "started_at": run.started_at.isoformat().replace("+00:00", "Z"),
        "finished_at": run.finished_at.isoformat().replace("+00:00", "Z"),
        "error": "",
    }
    assert WebhookEvent.objects.get(type="campaign.run.finished").created_at == run.finished_at


def test_each_coupon_of_a_run_is_a_coupon_issued_event(merchant, worker, small_chunks):
    listen(merchant, "coupon.issued")
    campaign, shoppers = a_campaign(merchant, 5)
    run = started(campaign, worker)
    worker.drain()

    issued = events("coupon.issued")
    assert sorted(e["shopper"] for e in issued) == sorted(s.external_id for s in shoppers)
    assert {(e["source"], e["template"], e["campaign"], e["run"]) for e in issued} == {
        ("campaign", campaign.template_id, campaign.pk, run.pk)
    }
    assert sorted(e["code"] for e in issued) == sorted(run.coupons.values_list("code", flat=True))
    assert not events("campaign.run.finished")  # not subscribed


def test_an_empty_audience_is_finished_at_once(merchant, worker):
    listen(merchant, "campaign.run.finished")
    campaign, _ = a_campaign(merchant, 0)
    started(campaign, worker)

    assert [(e["status"], e["audience_size"]) for e in events("campaign.run.finished")] == [("done", 0)]


def test_a_cancelled_run_finishes_cancelled_and_its_late_chunks_send_nothing(merchant, worker, small_chunks):
    listen(merchant, "campaign.run.finished", "coupon.issued")
    campaign, _ = a_campaign(merchant, 6)
    run = started(campaign, worker)
    first, kwargs = worker.queue.pop(0)
    with worker.committed():
        first.run(**kwargs)
    with worker.committed():
        campaign_runs.campaign_run_cancel(run=run)
    worker.drain()

    assert [(e["status"], e["issued"]) for e in events("campaign.run.finished")] == [("cancelled", 2)]
    assert len(events("coupon.issued")) == 2


def test_a_failed_run_sends_its_error_and_its_resumed_end_another_event(
    merchant, worker, small_chunks, monkeypatch
):
    listen(merchant, "campaign.run.finished")
    campaign, _ = a_campaign(merchant, 4)
    run = started(campaign, worker)
    real = campaign_runs._chunk_issue
    monkeypatch.setattr(
        campaign_runs, "_chunk_issue", lambda **kw: (_ for _ in ()).throw(RuntimeError("disk full"))
    )
    task, kwargs = worker.queue.pop(0)
    with pytest.raises(RuntimeError), worker.committed():
        task.run(**kwargs)
    monkeypatch.setattr(campaign_runs, "_chunk_issue", real)
    worker.queue.clear()
    with worker.committed():
        campaign_runs.campaign_run_resume(run=run)
    worker.drain()

    assert [(e["status"], e["error"], e["issued"]) for e in events("campaign.run.finished")] == [
        ("failed", "RuntimeError: disk full", 0),
        ("done", "", 4),
    ]


def test_another_merchants_endpoint_hears_nothing_of_this_run(merchant, other_merchant, worker, small_chunks):
    listen(other_merchant, "campaign.run.finished", "coupon.issued")
    campaign, _ = a_campaign(merchant, 3)
    started(campaign, worker)
    worker.drain()

    assert not WebhookEvent.objects.exists()
