"""The outbox's periodic jobs (beat: loyalty/schedule.py)."""

import logging

from celery import shared_task

from core.outbox import outbox_prune, outbox_relay

logger = logging.getLogger(__name__)


# A relay that has not run yet when the next is due is not worth queueing behind it.
@shared_task(name="core.outbox_relay", ignore_result=True, expires=60)
def relay_outbox() -> dict:
    result = outbox_relay()
    if result.sent or result.failed:
        logger.info("outbox: sent %s, failed %s", result.sent, result.failed)
    return {"sent": result.sent, "failed": result.failed}


@shared_task(name="core.outbox_prune", acks_late=True)
def prune_outbox() -> int:
    deleted = outbox_prune()
    logger.info("outbox: pruned %s sent messages", deleted)
    return deleted
