"""A campaign's schedule is a django-celery-beat entry kept in step with the campaign."""

import json
import zoneinfo
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from coupons.models import Campaign
from coupons.services.campaigns import campaign_create, campaign_delete, campaign_update
from tests.members.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def audience(merchant):
    return {"followers_of": AccountFactory(merchant=merchant).handle}


def beat_entry(campaign) -> PeriodicTask:
    return PeriodicTask.objects.select_related("crontab", "clocked").get(name=f"campaign-{campaign.pk}")


def test_a_cron_schedule_is_a_crontab_entry_in_the_campaigns_timezone(merchant, template, audience):
    campaign = campaign_create(
        merchant=merchant,
        name="Mondays",
        template=template.pk,
        audience=audience,
        schedule="0 10 * * 1",
        timezone="Asia/Shanghai",
    )

    task = beat_entry(campaign)
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        "0",
        "10",
        "*",
        "*",
        "1",
    )
    assert cron.timezone == zoneinfo.ZoneInfo("Asia/Shanghai")
    assert (task.task, json.loads(task.kwargs), task.enabled, task.one_off) == (
        "coupons.campaign_run_scheduled",
        {"campaign_id": campaign.pk},
        True,
        False,
    )
    assert campaign.periodic_task == task


def test_the_default_timezone_is_the_settings_zone(merchant, template, audience, settings):
    campaign = campaign_create(
        merchant=merchant, name="x", template=template.pk, audience=audience, schedule="0 9 * * *"
    )

    assert beat_entry(campaign).crontab.timezone == zoneinfo.ZoneInfo(settings.TIME_ZONE)


def test_changing_pausing_and_resuming_the_schedule_keeps_beat_in_step(merchant, template, audience):
    campaign = campaign_create(
        merchant=merchant, name="x", template=template.pk, audience=audience, schedule="0 10 * * 1"
    )

    campaign_update(campaign=campaign, schedule="30 8 * * 5")
    assert (beat_entry(campaign).crontab.hour, beat_entry(campaign).crontab.day_of_week) == ("8", "5")

    campaign_update(campaign=campaign, active=False)
    assert beat_entry(campaign).enabled is False

    campaign_update(campaign=campaign, active=True)
    assert beat_entry(campaign).enabled is True
    assert PeriodicTask.objects.filter(name__startswith="campaign-").count() == 1


def test_a_run_at_replaces_the_cron_with_a_one_off_clocked_entry(merchant, template, audience):
    campaign = campaign_create(
        merchant=merchant, name="x", template=template.pk, audience=audience, schedule="0 10 * * 1"
    )
    at = timezone.now() + timedelta(hours=3)

    campaign_update(campaign=campaign, run_at=at)

    task = beat_entry(campaign)
    assert (task.crontab, task.clocked.clocked_time, task.one_off) == (None, at, True)
    campaign.refresh_from_db()
    assert (campaign.schedule, campaign.run_at) == ("", at)


def test_removing_the_schedule_or_deleting_the_campaign_removes_the_entry(merchant, template, audience):
    kept = campaign_create(
        merchant=merchant, name="a", template=template.pk, audience=audience, schedule="0 10 * * 1"
    )
    gone = campaign_create(
        merchant=merchant, name="b", template=template.pk, audience=audience, schedule="0 11 * * 1"
    )

    campaign_update(campaign=kept, schedule="")
    campaign_delete(campaign=gone)

    assert not PeriodicTask.objects.filter(name__startswith="campaign-").exists()
    assert list(Campaign.objects.values_list("name", flat=True)) == ["a"]


def test_a_campaign_without_a_schedule_has_no_entry(merchant, template, audience):
    campaign_create(merchant=merchant, name="now only", template=template.pk, audience=audience)

    assert not PeriodicTask.objects.filter(name__startswith="campaign-").exists()
