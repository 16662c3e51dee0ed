"""Scheduled iron-fan jobs: thin, idempotent wrappers around one job each."""

import logging
from datetime import UTC, datetime, timedelta

from celery import shared_task
from django.utils import timezone

from members.engagement import jobs
from members.engagement.selectors import fan_policy_get
from members.models import Merchant

logger = logging.getLogger(__name__)


@shared_task(name="members.recompute_iron_fans", acks_late=True)
def recompute_iron_fans() -> dict:
    """Every merchant's iron fans brought to now (hourly), shared out by follow-id range.

    Each range is one ``recompute_iron_fans_range`` task, so the workers share a large
    merchant; a range run twice (a redelivery, two beats) changes nothing the second time.
    """
    now = timezone.now()
    ranges = sum(
        jobs.iron_fans_recompute_enqueue(merchant=merchant, now=now, task=recompute_iron_fans_range)
        for merchant in Merchant.objects.order_by("pk")
    )
    logger.info("iron fans: %s ranges enqueued", ranges)
    return {"ranges": ranges}


@shared_task(name="members.recompute_iron_fans_range", acks_late=True)
def recompute_iron_fans_range(*, lo: int, hi: int, merchant_id: int, now: str) -> dict:
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:  # deleted since the range was enqueued
        return {"promoted": 0, "demoted": 0}
    result = jobs.iron_fans_recompute_range(
        merchant=merchant,
        policy=fan_policy_get(merchant=merchant),
        lo=lo,
        hi=hi,
        now=datetime.fromisoformat(now),
    )
    logger.info(
        "iron fans of %s, follows %s-%s: +%s -%s", merchant.slug, lo, hi, result.promoted, result.demoted
    )
    return {"promoted": result.promoted, "demoted": result.demoted}


@shared_task(name="members.snapshot_fan_stats", acks_late=True)
def snapshot_fan_stats() -> dict:
    """Yesterday's (UTC) fans per account, once it has ended (nightly)."""
    day = (datetime.now(UTC) - timedelta(days=1)).date()
    result = jobs.fan_stats_snapshot(day=day)
    logger.info("fan stats of %s: %s accounts", day, result.accounts)
    return {"day": day.isoformat(), "accounts": result.accounts}


@shared_task(name="members.prune_engagement", acks_late=True)
def prune_engagement() -> dict:
    result = jobs.engagement_prune()
    logger.info(
        "engagement before %s: %s rows deleted, months dropped %s",
        result.cutoff,
        result.deleted_rows,
        result.dropped_months,
    )
    return {
        "deleted_rows": result.deleted_rows,
        "dropped_months": [m.isoformat() for m in result.dropped_months],
    }


# The webhook tasks register with the app's tasks (Celery autodiscovers members.tasks).
from members.webhooks.tasks import deliver, fan_out, retry_due  # noqa: E402, F401
