"""Writes of the engagement side: batches of events, the follow's score, the policy, and
the purchase pipeline's one event. Import from here; the modules split it by concept."""

from members.engagement.services.batch import (
    MAX_BATCH,
    MAX_CLOCK_SKEW,
    MAX_QUANTITY,
    EngagementResult,
    EventInput,
    StoredEvent,
    engagement_store,
    scores_add,
    shopper_ids_get_or_create,
)
from members.engagement.services.follows import follow_adopt_score, follow_release_score
from members.engagement.services.policy import fan_policy_update
from members.engagement.services.purchase import purchase_score_add

__all__ = [
    "MAX_BATCH",
    "MAX_CLOCK_SKEW",
    "MAX_QUANTITY",
    "EngagementResult",
    "EventInput",
    "StoredEvent",
    "engagement_store",
    "fan_policy_update",
    "follow_adopt_score",
    "follow_release_score",
    "purchase_score_add",
    "scores_add",
    "shopper_ids_get_or_create",
]
