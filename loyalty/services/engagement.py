"""The engagement pipeline: a batch of platform events in, fan scores moved.

``engagement_record`` is the only way engagement enters Fanbase (orders add their
``purchase`` event through the purchase pipeline). members stores the events and
moves the fan scores, in one transaction and a fixed number of statements; the
product-preference side (events naming a ``sku``) joins here with the storefront
issue.
"""

from collections.abc import Sequence

from django.db import transaction

from members.engagement import selectors as engagement_selectors
from members.engagement.services import EngagementResult, EventInput, engagement_store
from members.models import Merchant


@transaction.atomic
def engagement_record(*, merchant: Merchant, events: Sequence[EventInput]) -> EngagementResult:
    policy = engagement_selectors.fan_policy_get(merchant=merchant)
    return engagement_store(merchant=merchant, events=events, policy=policy)
