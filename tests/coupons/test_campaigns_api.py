"""The campaign API: create, list, read, change, dry run, run now, progress, resume; tenancy."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from coupons.models import Campaign, CampaignRun, Coupon
from tests.conftest import assert_error, row_counts
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import AccountFactory, FollowFactory, MembershipFactory

CAMPAIGNS = "/api/v1/merchant/campaigns"


def detail(campaign_id) -> str:
    return f"{CAMPAIGNS}/{campaign_id}"


@pytest.fixture
def account(merchant):
    return AccountFactory(merchant=merchant, handle="acme-koe")


@pytest.fixture
def body(template, account):
    return {"name": "Come back", "template": template.pk, "audience": {"followers_of": account.handle}}


@pytest.fixture
def campaign(merchant_api, body) -> Campaign:
    response = merchant_api.post(CAMPAIGNS, body, format="json")
    assert response.status_code == 201, response.content
    return Campaign.objects.get(pk=response.json()["id"])


def test_create_answers_201_with_the_campaign(merchant_api, merchant, body, template):
    response = merchant_api.post(CAMPAIGNS, {**body, "schedule": "0 10 * * 1"}, format="json")

    assert response.status_code == 201, response.content
    answer = response.json()
    campaign = Campaign.objects.get()
    assert answer == {
        "id": campaign.pk,
        "name": "Come back",
        "template": template.pk,
        "audience": {"followers_of": "acme-koe"},
        "schedule": "0 10 * * 1",
        "run_at": None,
        "timezone": "UTC",
        "active": True,
        "created_at": answer["created_at"],
        "last_run": None,
    }
    assert campaign.merchant == merchant
    assert PeriodicTask.objects.get(name=f"campaign-{campaign.pk}").enabled


def test_the_slash_twin_works_too(merchant_api, body):
    assert merchant_api.post(f"{CAMPAIGNS}/", body, format="json").status_code == 201


@pytest.mark.parametrize(
    ("change", "code", "attr"),
    [
        ({"audience": {"vip": True}}, "invalid_audience", "audience.vip"),
        ({"audience": {"lapsed_days": "thirty"}}, "invalid_audience", "audience.lapsed_days"),
        ({"audience": {"members": False}}, "invalid_audience", "audience"),
        ({"audience": "everyone"}, "not_a_dict", "audience"),
        ({"schedule": "every monday"}, "invalid_schedule", "schedule"),
        ({"schedule": "99 10 * * 1"}, "invalid_schedule", "schedule"),
        ({"timezone": "Mars/Olympus"}, "invalid_schedule", "timezone"),
        ({"run_at": "2000-01-01T00:00:00Z"}, "invalid_schedule", "run_at"),
        ({"name": ""}, "blank", "name"),
    ],
)
def test_a_bad_campaign_is_a_400_naming_the_field_and_writes_nothing(merchant_api, body, change, code, attr):
    before = row_counts()

    assert_error(merchant_api.post(CAMPAIGNS, {**body, **change}, format="json"), 400, code, attr)
    assert row_counts() == before


def test_another_merchants_template_or_account_is_a_400_on_its_field_and_nothing_is_written(
    merchant_api, other_merchant, body
):
    theirs = CouponTemplateFactory(merchant=other_merchant)
    their_account = AccountFactory(merchant=other_merchant)
    before = row_counts()

    # As in PATCH /program: a template id in the body the merchant does not own is not found.
    for template in (theirs.pk, 2**62):
        assert_error(
            merchant_api.post(CAMPAIGNS, {**body, "template": template}, format="json"),
            400,
            "coupon_template_not_found",
            "template",
        )
    assert_error(
        merchant_api.post(
            CAMPAIGNS, {**body, "audience": {"followers_of": their_account.handle}}, format="json"
        ),
        400,
        "invalid_audience",
        "audience.followers_of",
    )
    assert row_counts() == before


def test_list_shows_the_merchants_campaigns_with_their_last_run(
    merchant_api, other_merchant_api, campaign, template, worker, django_assert_max_num_queries
):
    with worker.committed():
        merchant_api.post(f"{detail(campaign.pk)}/run")
    worker.drain()
    other = Campaign.objects.create(merchant=campaign.merchant, name="Other", template=template, audience={})

    with django_assert_max_num_queries(4):
        response = merchant_api.get(CAMPAIGNS)

    results = response.json()["results"]
    assert [(c["id"], (c["last_run"] or {}).get("status")) for c in results] == [
        (other.pk, None),
        (campaign.pk, "done"),
    ]
    assert other_merchant_api.get(CAMPAIGNS).json()["results"] == []


def test_read_and_another_merchants_read_is_a_404(
    merchant_api, other_merchant_api, campaign, django_assert_max_num_queries
):
    with django_assert_max_num_queries(4):
        response = merchant_api.get(detail(campaign.pk))

    assert (response.status_code, response.json()["name"]) == (200, "Come back")
    assert_error(other_merchant_api.get(detail(campaign.pk)), 404, "campaign_not_found")
    assert_error(merchant_api.get(detail(2**70)), 404, "campaign_not_found")
    assert_error(merchant_api.get(detail("abc")), 404, "campaign_not_found")


def test_patch_renames_retargets_and_pauses(merchant_api, campaign, merchant):
    MembershipFactory(merchant=merchant)
    response = merchant_api.patch(
        detail(campaign.pk),
        {"name": "Monday love", "audience": {"members": True}, "schedule": "30 9 * * 1", "active": False},
        format="json",
    )

    assert response.status_code == 200, response.content
    campaign.refresh_from_db()
    assert (campaign.name, campaign.audience, campaign.schedule, campaign.active) == (
        "Monday love",
        {"members": True},
        "30 9 * * 1",
        False,
    )
    assert PeriodicTask.objects.get(name=f"campaign-{campaign.pk}").enabled is False


def test_a_bad_patch_and_another_merchants_patch_write_nothing(merchant_api, other_merchant_api, campaign):
    before = row_counts()

    assert_error(
        merchant_api.patch(detail(campaign.pk), {"audience": {"tier_at_least": "Nope"}}, format="json"),
        400,
        "invalid_audience",
        "audience.tier_at_least",
    )
    assert_error(
        other_merchant_api.patch(detail(campaign.pk), {"name": "x"}, format="json"), 404, "campaign_not_found"
    )
    assert row_counts() == before


def test_the_dry_run_counts_the_audience_and_writes_nothing(
    merchant_api, other_merchant_api, campaign, account, django_assert_max_num_queries
):
    FollowFactory.create_batch(3, account=account)
    before = row_counts()

    with django_assert_max_num_queries(5):
        response = merchant_api.get(f"{detail(campaign.pk)}/audience")

    assert (response.status_code, response.json()) == (200, {"size": 3})
    assert row_counts() == before
    assert_error(other_merchant_api.get(f"{detail(campaign.pk)}/audience"), 404, "campaign_not_found")


def test_run_now_is_202_and_the_workers_issue_to_the_audience(
    merchant_api, campaign, account, worker, small_chunks, django_assert_max_num_queries
):
    fans = [f.shopper for f in FollowFactory.create_batch(5, account=account)]

    with worker.committed():
        response = merchant_api.post(f"{detail(campaign.pk)}/run")
    assert response.status_code == 202, response.content
    run_id = response.json()["run"]
    assert response.json() == {"run": run_id, "status": "queued"}
    worker.drain()

    with django_assert_max_num_queries(4):
        progress = merchant_api.get(f"{detail(campaign.pk)}/runs/{run_id}").json()
    assert {
        k: progress[k]
        for k in ("status", "audience_size", "issued", "skipped", "chunks_total", "chunks_done")
    } == {
        "status": "done",
        "audience_size": 5,
        "issued": 5,
        "skipped": 0,
        "chunks_total": 3,
        "chunks_done": 3,
    }
    assert progress["progress"] == 1.0
    assert progress["started_at"] and progress["finished_at"]
    assert set(Coupon.objects.filter(campaign_run_id=run_id).values_list("shopper_id", flat=True)) == {
        s.pk for s in fans
    }


def test_a_second_run_now_while_one_is_unfinished_is_a_409(merchant_api, campaign, worker):
    with worker.committed():
        merchant_api.post(f"{detail(campaign.pk)}/run")
    before = row_counts()

    assert_error(merchant_api.post(f"{detail(campaign.pk)}/run"), 409, "campaign_run_in_progress")
    assert row_counts() == before


def test_run_now_with_a_template_switched_off_is_a_409(merchant_api, campaign, template):
    template.active = False
    template.save()
    before = row_counts()

    assert_error(merchant_api.post(f"{detail(campaign.pk)}/run"), 409, "campaign_template_not_issuable")
    assert row_counts() == before


def test_runs_of_another_merchant_or_campaign_are_404(
    merchant_api, other_merchant_api, campaign, template, worker
):
    with worker.committed():
        run_id = merchant_api.post(f"{detail(campaign.pk)}/run").json()["run"]
    other = Campaign.objects.create(merchant=campaign.merchant, name="Other", template=template, audience={})
    before = row_counts()

    assert_error(other_merchant_api.post(f"{detail(campaign.pk)}/run"), 404, "campaign_not_found")
    assert_error(other_merchant_api.get(f"{detail(campaign.pk)}/runs/{run_id}"), 404, "campaign_not_found")
    assert_error(merchant_api.get(f"{detail(other.pk)}/runs/{run_id}"), 404, "campaign_run_not_found")
    assert_error(
        other_merchant_api.post(f"{detail(campaign.pk)}/runs/{run_id}/resume"), 404, "campaign_not_found"
    )
    assert row_counts() == before


def test_resume_sends_the_chunks_not_done_and_ends_like_an_undisturbed_run(
    merchant_api, campaign, account, worker, small_chunks
):
    FollowFactory.create_batch(5, account=account)
    with worker.committed():
        run_id = merchant_api.post(f"{detail(campaign.pk)}/run").json()["run"]
    start, _ = worker.queue.pop(0)
    with worker.committed():
        start.run(run_id=run_id)
    first_chunk = worker.queue.pop(0)
    worker.queue.clear()  # the worker died: the other two chunks' tasks are lost
    with worker.committed():
        first_chunk[0].run(**first_chunk[1])
    assert CampaignRun.objects.get(pk=run_id).status == "running"

    with worker.committed():
        response = merchant_api.post(f"{detail(campaign.pk)}/runs/{run_id}/resume")
    assert (response.status_code, response.json()["status"]) == (202, "running")
    assert worker.drain() == 2

    run = CampaignRun.objects.get(pk=run_id)
    assert (run.status, run.issued, run.chunks_done) == ("done", 5, 3)
    assert Coupon.objects.filter(campaign_run=run).count() == 5


def test_a_finished_run_is_not_resumable(merchant_api, campaign, worker):
    with worker.committed():
        run_id = merchant_api.post(f"{detail(campaign.pk)}/run").json()["run"]
    worker.drain()
    before = row_counts()

    assert_error(
        merchant_api.post(f"{detail(campaign.pk)}/runs/{run_id}/resume"), 409, "campaign_run_not_resumable"
    )
    assert row_counts() == before


def test_run_at_makes_a_one_off_clocked_beat_entry(merchant_api, body):
    at = timezone.now() + timedelta(days=1)

    response = merchant_api.post(CAMPAIGNS, {**body, "run_at": at.isoformat()}, format="json")

    assert response.status_code == 201, response.content
    task = PeriodicTask.objects.get(name=f"campaign-{response.json()['id']}")
    assert (task.one_off, task.clocked.clocked_time, task.crontab) == (True, at, None)


# --- Cancel -----------------------------------------------------------------------------------


def test_cancel_stops_a_running_run_and_keeps_what_it_issued(
    merchant_api, campaign, account, worker, small_chunks
):
    FollowFactory.create_batch(5, account=account)
    with worker.committed():
        run_id = merchant_api.post(f"{detail(campaign.pk)}/run").json()["run"]
    start, _ = worker.queue.pop(0)
    with worker.committed():
        start.run(run_id=run_id)
    first_chunk = worker.queue.pop(0)
    with worker.committed():
        first_chunk[0].run(**first_chunk[1])

    response = merchant_api.post(f"{detail(campaign.pk)}/runs/{run_id}/cancel")
    assert worker.drain() == 2  # the other chunks' tasks run, and issue nothing

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["issued"]) == ("cancelled", 2)
    assert response.json()["finished_at"]
    run = CampaignRun.objects.get(pk=run_id)
    assert (run.status, run.issued, run.chunks_done) == ("cancelled", 2, 1)
    assert Coupon.objects.filter(campaign_run=run).count() == 2
    progress = merchant_api.get(f"{detail(campaign.pk)}/runs/{run_id}").json()
    assert progress["status"] == "cancelled"


def test_cancel_of_a_queued_run_answers_the_run_cancelled(merchant_api, campaign, worker):
    with worker.committed():
        run_id = merchant_api.post(f"{detail(campaign.pk)}/run").json()["run"]

    response = merchant_api.post(f"{detail(campaign.pk)}/runs/{run_id}/cancel/")
    worker.drain()

    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert CampaignRun.objects.get(pk=run_id).chunks_total == 0
    # A cancelled run has ended: the campaign can run again.
    with worker.committed():
        assert merchant_api.post(f"{detail(campaign.pk)}/run").status_code == 202


@pytest.mark.parametrize("status", ["done", "failed", "cancelled"])
def test_cancelling_a_run_that_has_ended_is_a_409_and_writes_nothing(merchant_api, campaign, status):
    run = CampaignRun.objects.create(campaign=campaign, merchant=campaign.merchant, status=status)
    before = row_counts()

    assert_error(
        merchant_api.post(f"{detail(campaign.pk)}/runs/{run.pk}/cancel"), 409, "campaign_run_not_cancellable"
    )
    assert row_counts() == before
    assert CampaignRun.objects.get(pk=run.pk).status == status


def test_cancel_of_another_merchants_run_or_an_unknown_run_is_404_and_writes_nothing(
    merchant_api, other_merchant_api, campaign, template, worker
):
    with worker.committed():
        run_id = merchant_api.post(f"{detail(campaign.pk)}/run").json()["run"]
    other = Campaign.objects.create(merchant=campaign.merchant, name="Other", template=template, audience={})
    before = row_counts()

    assert_error(
        other_merchant_api.post(f"{detail(campaign.pk)}/runs/{run_id}/cancel"), 404, "campaign_not_found"
    )
    assert_error(merchant_api.post(f"{detail(other.pk)}/runs/{run_id}/cancel"), 404, "campaign_run_not_found")
    assert_error(
        merchant_api.post(f"{detail(campaign.pk)}/runs/{run_id + 1000}/cancel"), 404, "campaign_run_not_found"
    )
    assert row_counts() == before
    assert CampaignRun.objects.get(pk=run_id).status == "queued"
