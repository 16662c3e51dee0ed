"""Scheduled coupon jobs: thin, idempotent wrappers around one service each."""

import logging

from celery import shared_task
from django.db import IntegrityError

from coupons.services import campaign_runs, campaigns
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


# Campaign runs. acks_late with reject_on_worker_lost: a task whose worker died is
# redelivered, not lost; each chunk is claimed once, so a redelivery is harmless. The
# broker's visibility timeout (settings: CELERY_BROKER_TRANSPORT_OPTIONS) is above the
# longest chunk by far: a chunk is one transaction of 5,000 coupons (about a second),
# and a start splits a million shoppers in seconds.
@shared_task(name="coupons.campaign_run_start", acks_late=True, reject_on_worker_lost=True)
def campaign_run_start(*, run_id: int) -> None:
    run = campaign_runs.campaign_run_start(run_id=run_id)
    if run is not None:
        logger.info("campaign run %s: %s, %s chunks", run.pk, run.status, run.chunks_total)


@shared_task(
    name="coupons.campaign_chunks_issue",
    acks_late=True,
    reject_on_worker_lost=True,
    # A new code that clashes with an existing one (2**-60 a pair) fails the chunk on the
    # unique index; the retry draws new codes.
    autoretry_for=(IntegrityError,),
    max_retries=3,
)
def campaign_chunks_issue(*, lo: int, hi: int) -> dict:
    try:
        done = campaign_runs.campaign_chunks_issue(lo=lo, hi=hi)
    except IntegrityError:
        raise
    except Exception as exc:  # the run stops as failed, to be resumed; the error is logged
        campaign_runs.campaign_run_fail(chunk_id=lo, error=f"{type(exc).__name__}: {exc}")
        raise
    return {"chunks": len(done), "issued": sum(c.issued for c in done)}


@shared_task(name="coupons.campaign_run_scheduled", acks_late=True)
def campaign_run_scheduled(*, campaign_id: int) -> int | None:
    """What beat sends on a campaign's schedule: a run, unless paused or one is under way."""
    run = campaigns.campaign_run_scheduled(campaign_id=campaign_id)
    return run.pk if run else None
