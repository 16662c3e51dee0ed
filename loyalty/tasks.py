"""Scheduled loyalty jobs: thin wrappers that call one service (safe to run twice)."""

import logging
from datetime import date

from celery import shared_task

from core.jobs import chunks_enqueue
from loyalty.dashboard import jobs as dashboard_jobs
from loyalty.services.expiry import points_expire_due
from loyalty.services.expiry_notices import points_expiring_notify
from loyalty.services.tiers import tier_review
from members.models import Merchant

logger = logging.getLogger(__name__)


@shared_task(name="loyalty.expire_points", acks_late=True)
def expire_points() -> dict:
    result = points_expire_due()
    logger.info("expired %s points in %s lots of %s accounts", result.points, result.lots, result.accounts)
    return {"accounts": result.accounts, "lots": result.lots, "points": result.points}


@shared_task(name="loyalty.announce_expiring_points", acks_late=True)
def announce_expiring_points() -> dict:
    """``points.expiring`` for the lots that entered the 30-day window (once per lot)."""
    result = points_expiring_notify()
    logger.info(
        "expiring points announced: %s points in %s lots of %s members",
        result.points,
        result.lots,
        result.members,
    )
    return {
        "merchants": result.merchants,
        "members": result.members,
        "lots": result.lots,
        "points": result.points,
    }


@shared_task(name="loyalty.review_tiers", acks_late=True)
def review_tiers() -> dict:
    result = tier_review()
    logger.info("tier review moved %s of %s members down", result.moved, result.members)
    return {"members": result.members, "moved": result.moved}


@shared_task(name="loyalty.daily_metrics", acks_late=True)
def daily_metrics() -> dict:
    """Yesterday's (UTC) metrics of every merchant: one chunk task per range of merchants."""
    day = dashboard_jobs.last_complete_day()
    sent = chunks_enqueue(
        Merchant.objects.all(),
        size=dashboard_jobs.METRICS_CHUNK_MERCHANTS,
        task=daily_metrics_chunk,
        day=day.isoformat(),
    )
    logger.info("daily metrics of %s: %s chunk tasks", day, sent)
    return {"day": day.isoformat(), "chunks": sent}


@shared_task(name="loyalty.daily_metrics_chunk", acks_late=True)
def daily_metrics_chunk(*, lo: int, hi: int, day: str) -> dict:
    """One day of the merchants with ``lo <= id <= hi`` (rewritten whole: safe to run twice)."""
    rows = dashboard_jobs.metrics_day_range(day=date.fromisoformat(day), lo=lo, hi=hi)
    return {"day": day, "merchants": rows}
