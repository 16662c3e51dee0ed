"""The shopper's side of a push: opening a message is the rollout's feedback."""

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from members.models import Shopper
from storefront import errors
from storefront.models import InboxMessage, PushRollout


@transaction.atomic
def inbox_open(*, shopper: Shopper, message_id: int, now: datetime | None = None) -> InboxMessage:
    """Mark a delivered message opened, once; its rollout's ``opened`` counts it.

    Another shopper's message, or one still deferred, is not found (404).
    """
    now = now or timezone.now()
    mine = InboxMessage.objects.filter(pk=message_id, shopper=shopper, delivered_at__isnull=False)
    if mine.filter(opened_at__isnull=True).update(opened_at=now):
        message = mine.get()
        PushRollout.objects.filter(pk=message.rollout_id).update(opened=F("opened") + 1)
        return message
    message = mine.first()
    if message is None:
        raise errors.InboxMessageNotFound()
    return message
