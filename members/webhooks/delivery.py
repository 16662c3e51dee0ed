"""Fan-out and delivery: the workers' side, never inside a database transaction.

- :func:`webhook_fan_out` makes one ``WebhookDelivery`` per event and active endpoint
  that wants its type (unique per endpoint and event: a second fan-out adds none) and
  sends the pending ones to :func:`webhook_deliver` in batches, through the outbox.
- :func:`webhook_deliver` claims its batch with one conditional ``UPDATE`` (pending and
  due -> sending; a redelivered task claims nothing), then sends each delivery outside
  any transaction, then records the answers: delivered; or pending again after a backoff
  (30 s, doubling, at most an hour) while the delivery is younger than a day; else failed.
  An endpoint that has failed without a success for a day is disabled, with the reason.
- :func:`webhook_retry_due` (beat, every minute) sends the deliveries whose backoff is
  over, and takes back those a dead worker left in ``sending``.
"""

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from core.errors import InvariantViolated
from core.outbox import outbox_send_many
from members.webhooks import http
from members.webhooks.addresses import Refused, Target, resolve
from members.webhooks.endpoints import signing_secrets, webhook_endpoint_disable
from members.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from members.webhooks.signing import SIGNATURE_HEADER, signature_header

logger = logging.getLogger(__name__)

DELIVER_TASK = "members.webhook_deliver"
DELIVERY_BATCH = 50  # deliveries per task
SEND_CONCURRENCY = 8  # requests of a batch in flight at once (per worker process)
RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
RETRY_FOR = timedelta(days=1)  # a delivery is failed, an endpoint disabled, after this
STUCK_AFTER = timedelta(minutes=5)  # a delivery left "sending" this long is taken back
SWEEP_LIMIT = 5000

DELIVERY = WebhookDelivery._meta.db_table


def retry_backoff(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failed attempt a delivery is tried again."""
    return min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)


@transaction.atomic
def webhook_fan_out(*, event_ids: list[int], now: datetime | None = None) -> int:
    now = now or timezone.now()
    events = list(WebhookEvent.objects.filter(pk__in=event_ids).values("pk", "merchant_id", "type"))
    merchants = {event["merchant_id"] for event in events}
    endpoints = list(
        WebhookEndpoint.objects.filter(merchant_id__in=merchants, active=True).values(
            "pk", "merchant_id", "events"
        )
    )
    rows = [
        WebhookDelivery(
            endpoint_id=endpoint["pk"],
            event_id=event["pk"],
            next_attempt_at=now,
            first_attempt_due_at=now,
        )
        for event in events
        for endpoint in endpoints
        if endpoint["merchant_id"] == event["merchant_id"] and event["type"] in endpoint["events"]
    ]
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    pending = list(
        WebhookDelivery.objects.filter(event_id__in=event_ids, status=WebhookDelivery.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    _enqueue(pending)
    return len(rows)


def _enqueue(delivery_ids: list[int]) -> None:
    batches = [delivery_ids[i : i + DELIVERY_BATCH] for i in range(0, len(delivery_ids), DELIVERY_BATCH)]
    if batches:
        outbox_send_many(DELIVER_TASK, [{"delivery_ids": batch} for batch in batches])


@dataclass
class DeliverResult:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0  # claimed by someone else, or not due
    disabled_endpoints: list[int] = field(default_factory=list)


def webhook_deliver(*, delivery_ids: list[int], now: datetime | None = None) -> DeliverResult:
    if connection.in_atomic_block:
        raise InvariantViolated("webhooks are sent outside database transactions")
    now = now or timezone.now()
    claimed = _claim(delivery_ids, now=now)
    result = DeliverResult(skipped=len(delivery_ids) - len(claimed))
    if not claimed:
        return result
    deliveries = list(
        WebhookDelivery.objects.filter(pk__in=claimed)
        .select_related("endpoint", "event__merchant")
        .order_by("pk")
    )
    bodies: dict[int, bytes] = {}
    targets: dict[int, Target | Refused] = {}  # resolved once per endpoint and batch
    for delivery in deliveries:
        if delivery.event_id not in bodies:
            bodies[delivery.event_id] = event_body(delivery.event)
        if delivery.endpoint.active and delivery.endpoint_id not in targets:
            try:
                targets[delivery.endpoint_id] = resolve(delivery.endpoint.url)
            except Refused as refused:
                targets[delivery.endpoint_id] = refused

    def send(delivery: WebhookDelivery) -> http.Answer:
        if not delivery.endpoint.active:
            return http.Answer(status=None, error="endpoint disabled")
        target = targets[delivery.endpoint_id]
        if isinstance(target, Refused):
            return http.Answer(status=None, error=f"refused: {target}"[:500])
        return _send(
            endpoint=delivery.endpoint, event=delivery.event, target=target, body=bodies[delivery.event_id]
        )

    # The requests of a batch go a few at a time (network waits overlap); the threads
    # touch no database: everything they need was read above.
    with ThreadPoolExecutor(max_workers=min(SEND_CONCURRENCY, len(deliveries))) as pool:
        outcomes = list(zip(deliveries, pool.map(send, deliveries), strict=True))
    _record(outcomes, now=now, result=result)
    return result


def event_body(event: WebhookEvent) -> bytes:
    """What every endpoint receives for ``event``: the same bytes on every attempt."""
    document = {
        "id": str(event.event_id),
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "merchant": event.merchant.slug,
        "data": event.payload,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def _send(*, endpoint: WebhookEndpoint, event: WebhookEvent, target: Target, body: bytes) -> http.Answer:
    stamp = int(timezone.now().timestamp())
    headers = {
        SIGNATURE_HEADER: signature_header(
            secrets_=signing_secrets(endpoint, now=timezone.now()), timestamp=stamp, body=body
        ),
        "Fanbase-Event-Id": str(event.event_id),
        "Fanbase-Event-Type": event.type,
    }
    return http.post(target=target, body=body, headers=headers)


def _claim(delivery_ids: list[int], *, now: datetime) -> list[int]:
    if not delivery_ids:
        return []
    marks = ", ".join(["%s"] * len(delivery_ids))
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {DELIVERY} SET status = 'sending', attempts = attempts + 1, last_attempt_at = %s
            WHERE id IN ({marks}) AND status = 'pending' AND next_attempt_at <= %s
            RETURNING id
            """,
            [at, *delivery_ids, at],
        )
        return [row[0] for row in cursor.fetchall()]


def _record(
    outcomes: list[tuple[WebhookDelivery, http.Answer]], *, now: datetime, result: DeliverResult
) -> None:
    """The answers of a batch, in one transaction: a few statements for a batch that went well."""
    succeeded = {d.endpoint_id for d, answer in outcomes if answer.ok}
    failing: dict[int, str] = {}
    with transaction.atomic():
        by_code: dict[int, list[int]] = {}
        for delivery, answer in outcomes:
            if answer.ok:
                by_code.setdefault(answer.status, []).append(delivery.pk)
        for code, ids in by_code.items():
            WebhookDelivery.objects.filter(pk__in=ids).update(
                status=WebhookDelivery.Status.DELIVERED, response_code=code, error="", delivered_at=now
            )
            result.delivered += len(ids)
        if succeeded:
            WebhookEndpoint.objects.filter(pk__in=succeeded, failing_since__isnull=False).update(
                failing_since=None
            )
        for delivery, answer in outcomes:
            if answer.ok:
                continue
            give_up = not delivery.endpoint.active or now - delivery.first_attempt_due_at >= RETRY_FOR
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                status=WebhookDelivery.Status.FAILED if give_up else WebhookDelivery.Status.PENDING,
                next_attempt_at=now + retry_backoff(delivery.attempts),
                response_code=answer.status,
                error=answer.error[:500],
            )
            if give_up:
                result.failed += 1
            else:
                result.retrying += 1
            if delivery.endpoint.active and delivery.endpoint_id not in succeeded:
                failing[delivery.endpoint_id] = answer.error
        if failing:
            WebhookEndpoint.objects.filter(pk__in=failing, failing_since__isnull=True).update(
                failing_since=now
            )
    # An endpoint with no success for a day is turned off, the merchant told why.
    for endpoint_id in WebhookEndpoint.objects.filter(
        pk__in=failing, active=True, failing_since__lte=now - RETRY_FOR
    ).values_list("pk", flat=True):
        reason = (
            f"Disabled on {now:%Y-%m-%d %H:%M} UTC: no delivery succeeded for a day. "
            f"Last error: {failing[endpoint_id]}"
        )
        if webhook_endpoint_disable(endpoint_id=endpoint_id, reason=reason, now=now):
            result.disabled_endpoints.append(endpoint_id)
            logger.warning("webhook endpoint %s disabled after a day of failures", endpoint_id)


def webhook_retry_due(*, now: datetime | None = None, limit: int = SWEEP_LIMIT) -> int:
    """Send the deliveries whose backoff is over; take back those stuck in ``sending``."""
    now = now or timezone.now()
    with transaction.atomic():
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.SENDING, last_attempt_at__lt=now - STUCK_AFTER
        ).update(status=WebhookDelivery.Status.PENDING, next_attempt_at=now)
        due = list(
            WebhookDelivery.objects.filter(
                status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now, attempts__gt=0
            )
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        _enqueue(due)
    return len(due)


@transaction.atomic
def webhook_resend(*, delivery_ids: list[int], now: datetime | None = None) -> int:
    """Staff's "resend": the deliveries go again now, with a new day of retries."""
    now = now or timezone.now()
    ids = list(
        WebhookDelivery.objects.filter(pk__in=delivery_ids)
        .exclude(status=WebhookDelivery.Status.SENDING)
        .values_list("pk", flat=True)
    )
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=now, first_attempt_due_at=now, error=""
    )
    _enqueue(ids)
    return len(ids)
