"""Writing webhook events in the transaction that caused them.

``webhook_emit`` is called by a service inside its ``@transaction.atomic``: when some
active endpoint of the merchant wants the type (``Merchant.webhook_events``, read from
the merchant object the caller holds, so no statement when nobody listens), it writes
the ``WebhookEvent`` row and an outbox message (``core.outbox``) for the fan-out task.
Both commit or roll back with the cause: an order that rolls back sends nothing, and a
committed one is delivered at least once even if the broker was down at the commit.
"""

from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from core.outbox import outbox_send
from members.models import Merchant
from members.webhooks.models import EventType, WebhookEvent

FAN_OUT_TASK = "members.webhook_fan_out"


def webhook_wanted(*, merchant: Merchant | int, type: str) -> bool:
    """Does an active endpoint of the merchant want ``type``? A ``Merchant`` in hand
    answers without a statement; an id costs one small read."""
    if isinstance(merchant, Merchant):
        events = merchant.webhook_events
    else:
        events = Merchant.objects.filter(pk=merchant).values_list("webhook_events", flat=True).first()
    return type in (events or ())


def webhook_listening(*, type: str, merchant_ids=None) -> list[int]:
    """The merchants (of ``merchant_ids``, a list or a subquery; None: all) with an active
    endpoint for ``type``, by id: one read of their subscriptions, for a set-based job."""
    merchants = Merchant.objects.order_by("pk")
    if merchant_ids is not None:
        merchants = merchants.filter(pk__in=merchant_ids)
    return [pk for pk, events in merchants.values_list("pk", "webhook_events") if type in (events or ())]


def webhook_emit(
    *, merchant: Merchant | int, type: str, payload: dict | Callable[[], dict], now: datetime | None = None
) -> WebhookEvent | None:
    """The event, if anyone wants it (else None, nothing written). ``payload`` may be a
    function, called only when someone listens (it may read what the event names)."""
    if type not in EventType.values:
        raise ValueError(f"not a webhook event type: {type}")
    if not webhook_wanted(merchant=merchant, type=type):
        return None
    merchant_id = merchant.pk if isinstance(merchant, Merchant) else merchant
    data = payload() if callable(payload) else payload
    return webhook_events_write(merchant_id=merchant_id, type=type, payloads=[data], now=now)[0]


def webhook_events_write(
    *, merchant_id: int, type: str, payloads: list[dict], now: datetime | None = None
) -> list[WebhookEvent]:
    """Several events of one merchant and type (a set-based job's), in one ``INSERT``,
    and one fan-out message for them all. The caller has checked ``webhook_wanted``."""
    if not payloads:
        return []
    now = now or timezone.now()
    events = WebhookEvent.objects.bulk_create(
        [WebhookEvent(merchant_id=merchant_id, type=type, payload=p, created_at=now) for p in payloads]
    )
    outbox_send(FAN_OUT_TASK, event_ids=[event.pk for event in events])
    return events
