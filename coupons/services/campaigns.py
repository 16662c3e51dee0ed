"""Campaigns: create, change, pause and delete, with their schedule in django-celery-beat.

A campaign's schedule is one ``PeriodicTask`` named ``campaign-<id>`` that sends
``coupons.campaign_run_scheduled``: with a ``CrontabSchedule`` in the campaign's
timezone for ``schedule`` (five cron fields), or a one-off ``ClockedSchedule`` for
``run_at``. Every write here brings that task in step in the same transaction (beat
notices through ``PeriodicTasks.changed``); ``active: false`` disables it. Merchants
never edit beat's tables: beat's admin is for superusers.
"""

import functools
import json
import logging
import zoneinfo
from datetime import datetime

from celery.schedules import ParseException, crontab
from django.db import transaction
from django.utils.timezone import now as time_now
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, PeriodicTask

from core.services import model_update
from coupons import errors
from coupons.audiences import audience_check
from coupons.models import Campaign, CampaignRun, CouponTemplate
from coupons.services.campaign_runs import campaign_run_request
from members.models import Merchant

logger = logging.getLogger(__name__)

UPDATABLE = ("name", "template", "audience", "schedule", "run_at", "timezone", "active")
CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
SCHEDULED_TASK = "coupons.campaign_run_scheduled"


@transaction.atomic
def campaign_create(
    *,
    merchant: Merchant,
    name: str,
    template: int,
    audience: dict,
    schedule: str = "",
    run_at: datetime | None = None,
    timezone: str | None = None,
    active: bool = True,
) -> Campaign:
    data = _checked(
        merchant=merchant,
        changes={"template": template, "audience": audience, "schedule": schedule, "run_at": run_at},
        timezone_name=timezone,
    )
    campaign = Campaign(merchant=merchant, name=name, active=active, **data)
    if timezone:
        campaign.timezone = timezone
    campaign.save()
    campaign_schedule_sync(campaign)
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, **changes) -> Campaign:
    """Rename, retarget, reschedule, pause (``active=False``) or resume the schedule.

    A new ``schedule`` replaces a ``run_at`` and the other way round.
    """
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise TypeError(f"not updatable: {sorted(unknown)}")
    changes = _checked(
        merchant=campaign.merchant, changes=changes, timezone_name=changes.get("timezone", campaign.timezone)
    )
    if changes.get("schedule"):
        changes.setdefault("run_at", None)
    if changes.get("run_at"):
        changes.setdefault("schedule", "")
    model_update(instance=campaign, fields=UPDATABLE, data=changes)
    campaign_schedule_sync(campaign)
    return campaign


@transaction.atomic
def campaign_delete(*, campaign: Campaign) -> None:
    """Delete the campaign, its runs and its beat entry (the coupons it issued stay)."""
    task = campaign.periodic_task
    campaign.delete()
    if task is not None:
        task.delete()


def campaign_run_scheduled(*, campaign_id: int) -> CampaignRun | None:
    """A run on the campaign's schedule; none when paused, gone, or a run is under way."""
    campaign = Campaign.objects.select_related("merchant", "template").filter(pk=campaign_id).first()
    if campaign is None or not campaign.active:
        return None
    try:
        return campaign_run_request(campaign=campaign)
    except (errors.CampaignRunInProgress, errors.CampaignTemplateNotIssuable, errors.AudienceInvalid) as exc:
        logger.warning("campaign %s: scheduled run skipped: %s", campaign_id, exc.code)
        return None


def campaign_terms_check(
    *, merchant: Merchant, audience: dict, schedule: str, run_at: datetime | None, timezone_name: str | None
) -> dict:
    """The admin form's check: the API's rules, the same errors on the same fields."""
    return _checked(
        merchant=merchant,
        changes={"audience": audience, "schedule": schedule, "run_at": run_at},
        timezone_name=timezone_name,
    )


def _checked(*, merchant: Merchant, changes: dict, timezone_name: str | None) -> dict:
    changes = dict(changes)
    if "template" in changes:
        template = CouponTemplate.objects.filter(merchant=merchant, pk=changes["template"]).first()
        if template is None:
            raise errors.TemplateNotFound(attr="template")
        changes["template"] = template
    if "audience" in changes:
        changes["audience"] = audience_check(merchant=merchant, audience=changes["audience"])
    zone = _zone(timezone_name)
    if changes.get("schedule"):
        changes["schedule"] = _cron(changes["schedule"], zone)
    if changes.get("run_at") and changes["run_at"] <= time_now():
        raise errors.ScheduleInvalid("run_at is in the past.", attr="run_at")
    if changes.get("schedule") and changes.get("run_at"):
        raise errors.ScheduleInvalid("Give a cron schedule or a run_at, not both.", attr="run_at")
    return changes


def _zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    # Only the IANA names beat's timezone column accepts (not "localtime", not a folder).
    if not name:
        return None
    if name not in _zone_names():
        raise errors.ScheduleInvalid(
            f"Unknown timezone {name!r}; an IANA name such as Europe/Paris.", attr="timezone"
        )
    return zoneinfo.ZoneInfo(name)


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _cron(expression: str, zone) -> str:
    fields = expression.split()
    if len(fields) != len(CRON_FIELDS):
        raise errors.ScheduleInvalid(
            "A schedule is five cron fields: minute hour day-of-month month day-of-week.", attr="schedule"
        )
    for name, value in zip(CRON_FIELDS, fields, strict=True):
        if len(value) > CrontabSchedule._meta.get_field(name).max_length:
            raise errors.ScheduleInvalid(f"The {name} field of the schedule is too long.", attr="schedule")
    try:
        crontab(**dict(zip(CRON_FIELDS, fields, strict=True)))
    except (ValueError, TypeError, ZeroDivisionError, ParseException) as exc:
        raise errors.ScheduleInvalid(f"Not a cron schedule: {exc}", attr="schedule") from None
    return " ".join(fields)


def campaign_schedule_sync(campaign: Campaign) -> None:
    """Bring the campaign's beat entry in step: created, changed, enabled or deleted."""
    task = campaign.periodic_task
    if not campaign.schedule and campaign.run_at is None:
        if task is not None:
            campaign.periodic_task = None
            campaign.save(update_fields=["periodic_task"])
            task.delete()
        return
    if campaign.schedule:
        fields = dict(zip(CRON_FIELDS, campaign.schedule.split(), strict=True))
        cron, _ = CrontabSchedule.objects.get_or_create(
            **fields, timezone=zoneinfo.ZoneInfo(campaign.timezone)
        )
        when = {"crontab": cron, "clocked": None, "one_off": False}
    else:
        clocked, _ = ClockedSchedule.objects.get_or_create(clocked_time=campaign.run_at)
        when = {"crontab": None, "clocked": clocked, "one_off": True}
    task = task or PeriodicTask(name=f"campaign-{campaign.pk}", task=SCHEDULED_TASK)
    task.kwargs = json.dumps({"campaign_id": campaign.pk})
    task.enabled = campaign.active
    task.description = f"Campaign {campaign.name!r} of {campaign.merchant.slug}"
    for name, value in when.items():
        setattr(task, name, value)
    task.save()
    if campaign.periodic_task_id != task.pk:
        campaign.periodic_task = task
        campaign.save(update_fields=["periodic_task"])
