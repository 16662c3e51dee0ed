"""Scheduled loyalty jobs: thin wrappers that call one service (safe to run twice)."""

import logging

from celery import shared_task

from loyalty.services.expiry import points_expire_due
from loyalty.services.tiers import tier_review

logger = logging.getLogger(__name__)


@shared_task(name="loyalty.expire_points", acks_late=True)
def expire_points() -> dict:
    result = points_expire_due()
    logger.info("expired %s points in %s lots of %s accounts", result.points, result.lots, result.accounts)
    return {"accounts": result.accounts, "lots": result.lots, "points": result.points}


@shared_task(name="loyalty.review_tiers", acks_late=True)
def review_tiers() -> dict:
    result = tier_review()
    logger.info("tier review moved %s of %s members down", result.moved, result.members)
    return {"members": result.members, "moved": result.moved}
