"""Rollout jobs: thin, idempotent wrappers around one service each."""

import logging

from celery import shared_task

from storefront.services.preferences import preferences_fold_orders
from storefront.services.rollouts import rollout_start, rollouts_advance

logger = logging.getLogger(__name__)


@shared_task(name="storefront.start_rollout", acks_late=True)
def start_rollout(*, product_id: int) -> str | None:
    rollout = rollout_start(product_id=product_id)
    return rollout.stage if rollout is not None else None


@shared_task(name="storefront.advance_rollouts", acks_late=True)
def advance_rollouts() -> list[dict]:
    moves = rollouts_advance()
    for move in moves:
        logger.info(
            "rollout %s of %s/%s: %s -> %s %s",
            move.rollout_id,
            move.merchant,
            move.sku,
            move.from_stage,
            move.to_stage,
            move.reason,
        )
    return [{"rollout": m.rollout_id, "from": m.from_stage, "to": m.to_stage} for m in moves]


@shared_task(name="storefront.fold_order_preferences", acks_late=True)
def fold_order_preferences() -> int:
    """A backfill, not scheduled: orders fold their preferences in the pipeline; this
    folds those recorded before that (``preferences_at`` null)."""
    folded = preferences_fold_orders()
    logger.info("folded %s orders into preferences", folded)
    return folded
