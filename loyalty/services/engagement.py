"""The engagement pipeline: a batch of platform events in, fan scores moved.

``engagement_record`` is the only way engagement enters Fanbase (orders add their
``purchase`` event through the purchase pipeline). members stores the events and
moves the fan scores, in one transaction and a fixed number of statements; the
storefront then moves the preferences of the stored events that name a ``sku`` (two
statements more, only when some do).
"""

from collections.abc import Sequence

from django.db import transaction

from members.engagement import selectors as engagement_selectors
from members.engagement.services import EngagementResult, EventInput, engagement_store
from members.models import Merchant
from storefront.services.preferences import preferences_from_engagement


@transaction.atomic
def engagement_record(*, merchant: Merchant, events: Sequence[EventInput]) -> EngagementResult:
    policy = engagement_selectors.fan_policy_get(merchant=merchant)
    result = engagement_store(merchant=merchant, events=events, policy=policy)
    # Only what was stored: a redelivered event moves no preference twice.
    preferences_from_engagement(
        merchant_id=merchant.pk,
        events=[(e.shopper_id, e.sku, e.kind, e.quantity, e.occurred_at) for e in result.stored if e.sku],
    )
    return result
