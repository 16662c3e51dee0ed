"""Scheduled coupon jobs: thin, idempotent wrappers around one service each."""

import logging

from celery import shared_task

from coupons.services.expiry import coupons_expire_due
from coupons.services.scheduled import coupons_issue_due

logger = logging.getLogger(__name__)


@shared_task(name="coupons.expire_coupons", acks_late=True)
def expire_coupons() -> int:
    expired = coupons_expire_due()
    logger.info("expired %s coupons", expired)
    return expired


@shared_task(name="coupons.issue_due_coupons", acks_late=True)
def issue_due_coupons() -> dict:
    result = coupons_issue_due()
    logger.info("issued %s due coupons, skipped %s", result.issued, result.skipped)
    return {"issued": result.issued, "skipped": result.skipped}
