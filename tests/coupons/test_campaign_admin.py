"""The campaign admin: progress and counts, dry-run, run-now, resume and cancel buttons; tenancy."""

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from coupons.models import Campaign, CampaignRun
from tests.conftest import row_counts, staff_client
from tests.coupons.factories import CampaignFactory, CampaignRunFactory
from tests.members.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def admin_url(name, *args) -> str:
    return reverse(f"admin:coupons_campaign_{name}", args=args)


def test_the_list_shows_each_campaigns_last_run(merchant):
    campaign = CampaignFactory(merchant=merchant)
    CampaignRunFactory(campaign=campaign, status="done", issued=1, audience_size=1)
    CampaignRunFactory(campaign=campaign, status="running", issued=40, audience_size=90)
    CampaignFactory(merchant=merchant, name="Quiet")

    page = staff_client(merchant).get(admin_url("changelist")).content.decode()

    assert "running: 40 of 90" in page
    assert "never" in page


def test_the_change_page_shows_progress_counts_and_the_buttons(merchant):
    campaign = CampaignFactory(merchant=merchant)
    CampaignRunFactory(
        campaign=campaign,
        status="running",
        audience_size=3000,
        issued=1500,
        skipped=20,
        skipped_limit=15,
        skipped_stock=5,
        chunks_total=3,
        chunks_done=2,
    )

    page = staff_client(merchant).get(admin_url("change", campaign.pk)).content.decode()

    assert '<progress max="3" value="2">' in page
    assert "20 (15, 5)" in page
    assert "Dry run" in page and "Run now" in page and "Resume" in page and "Cancel" in page
    assert admin_url("cancel", campaign.pk, campaign.runs.get().pk) in page


def test_dry_run_reports_the_size_and_writes_nothing(merchant):
    campaign = CampaignFactory(merchant=merchant, audience={"members": True})
    MembershipFactory.create_batch(2, merchant=merchant)
    client = staff_client(merchant)
    before = row_counts()

    response = client.post(admin_url("dry_run", campaign.pk), follow=True)

    assert "the audience holds 2 shoppers" in response.content.decode()
    assert row_counts() == before


def test_run_now_queues_a_run(merchant, worker):
    campaign = CampaignFactory(merchant=merchant)
    MembershipFactory(merchant=merchant)

    with worker.committed():
        response = staff_client(merchant).post(admin_url("run", campaign.pk), follow=True)
    worker.drain()

    assert "queued" in response.content.decode()
    assert CampaignRun.objects.get(campaign=campaign).issued == 1


def test_resume_sends_the_run_again(merchant, worker):
    campaign = CampaignFactory(merchant=merchant)
    run = CampaignRunFactory(campaign=campaign, status="failed", error="worker lost")

    with worker.committed():
        staff_client(merchant).post(admin_url("resume", campaign.pk, run.pk))

    run.refresh_from_db()
    assert (run.status, run.error) == ("running", "")


def test_cancel_stops_the_run(merchant, worker):
    campaign = CampaignFactory(merchant=merchant)
    run = CampaignRunFactory(campaign=campaign, status="running", chunks_total=3, chunks_done=1, issued=7)

    response = staff_client(merchant).post(admin_url("cancel", campaign.pk, run.pk), follow=True)

    assert "cancelled; the coupons it issued stay" in response.content.decode()
    run.refresh_from_db()
    assert (run.status, run.issued) == ("cancelled", 7)


def test_cancelling_a_finished_run_in_the_admin_says_why_and_writes_nothing(merchant):
    campaign = CampaignFactory(merchant=merchant)
    run = CampaignRunFactory(campaign=campaign, status="done")
    client = staff_client(merchant)
    before = row_counts()

    response = client.post(admin_url("cancel", campaign.pk, run.pk), follow=True)

    assert "Not cancelled" in response.content.decode()
    assert row_counts() == before
    assert CampaignRun.objects.get(pk=run.pk).status == "done"


@pytest.mark.parametrize("view", ["dry_run", "run", "resume", "cancel"])
def test_another_merchants_campaign_is_404_on_every_button_and_nothing_is_written(
    merchant, other_merchant, view
):
    theirs = CampaignFactory(merchant=other_merchant)
    run = CampaignRunFactory(campaign=theirs, status="running")
    args = (theirs.pk, run.pk) if view in ("resume", "cancel") else (theirs.pk,)
    client = staff_client(merchant)
    before = row_counts()

    response = client.post(admin_url(view, *args))

    assert response.status_code == 404
    assert row_counts() == before


def test_the_buttons_answer_only_to_post(merchant):
    campaign = CampaignFactory(merchant=merchant)

    assert staff_client(merchant).get(admin_url("run", campaign.pk)).status_code == 403


def test_saving_and_deleting_in_the_admin_keeps_beat_in_step(merchant):
    client = staff_client(merchant)
    campaign = CampaignFactory(merchant=merchant)
    form = {
        "name": campaign.name,
        "template": campaign.template_id,
        "audience": '{"members": true}',
        "schedule": "0 10 * * 1",
        "timezone": "Europe/Paris",
        "active": "on",
    }

    saved = client.post(admin_url("change", campaign.pk), form)
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    assert PeriodicTask.objects.get(name=f"campaign-{campaign.pk}").crontab.hour == "10"

    client.post(admin_url("delete", campaign.pk), {"post": "yes"})
    assert not Campaign.objects.exists()
    assert not PeriodicTask.objects.filter(name__startswith="campaign-").exists()


def test_a_bad_audience_in_the_admin_is_a_form_error(merchant):
    campaign = CampaignFactory(merchant=merchant)
    client = staff_client(merchant)
    before = row_counts()

    response = client.post(
        admin_url("change", campaign.pk),
        {"name": "x", "template": campaign.template_id, "audience": '{"vip": true}', "timezone": "UTC"},
    )

    assert response.status_code == 200
    assert "Unknown audience key" in str(response.context["adminform"].form.errors)
    assert row_counts() == before
