"""Scheduled iron-fan jobs: thin, idempotent wrappers around one job each."""

import logging
from datetime import UTC, datetime, timedelta

from celery import shared_task

from members.engagement import jobs
from members.models import Merchant

logger = logging.getLogger(__name__)


@shared_task(name="members.recompute_iron_fans", acks_late=True)
def recompute_iron_fans() -> dict:
    """Every merchant's iron fans brought to now (hourly)."""
    promoted = demoted = 0
    for merchant in Merchant.objects.order_by("pk"):
        result = jobs.iron_fans_recompute(merchant=merchant)
        promoted, demoted = promoted + result.promoted, demoted + result.demoted
    logger.info("iron fans: %s promoted, %s demoted", promoted, demoted)
    return {"promoted": promoted, "demoted": demoted}


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
