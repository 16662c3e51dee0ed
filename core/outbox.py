"""The transactional outbox: a Celery task sent if and only if its transaction commits.

``delay_on_commit`` loses the message when the broker is down at the commit: the
effect is written, the task is not. Here the task is a row (``core.OutboxMessage``)
written in the same transaction as the effect, so the two commit or roll back
together; the relay sends the row to the broker afterwards and stamps it sent.

- :func:`outbox_send` writes one message; after the commit the same process relays it
  at once (the fast path, ``transaction.on_commit``).
- :func:`outbox_relay` sends what is pending, oldest first, in batches locked with
  ``SELECT ... FOR UPDATE SKIP LOCKED`` (two relays never send one row twice at the
  same time). Celery beat runs it every ``OUTBOX_RELAY_INTERVAL`` seconds
  (``core.outbox_relay``): it delivers what the fast path could not (broker down,
  process gone between the commit and the send).
- A send that fails is tried again after a backoff (1 s, 2 s, 4 s ... at most
  ``OUTBOX_BACKOFF_MAX``), for ever: the row stays in the backlog until it goes.

Delivery is at least once: a relay that dies between the broker's acceptance and its
own commit sends the row again. Consumers are idempotent (they claim their work with a
conditional ``UPDATE``, or find it done). See docs/outbox.md.
"""

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.locks import locked
from core.models import OutboxMessage

logger = logging.getLogger(__name__)

OUTBOX_BATCH = 500  # rows a relay transaction locks and sends
OUTBOX_BACKOFF_MAX = 60  # seconds between two attempts at most
OUTBOX_RELAY_INTERVAL = 10.0  # seconds between two beat-driven relays
OUTBOX_KEEP_SENT = timedelta(days=7)  # sent rows are pruned after this

_local = threading.local()


def _task_name(task: Any) -> str:
    name = task if isinstance(task, str) else getattr(task, "name", None)
    if not name:
        raise TypeError(f"not a Celery task or task name: {task!r}")
    return name


def outbox_send(task: Any, /, **kwargs: Any) -> OutboxMessage:
    """Send ``task(**kwargs)`` when the current transaction commits, surviving a broker outage.

    ``task`` is a Celery task or its name; ``kwargs`` are JSON values (ids, never
    objects). Outside a transaction the row commits at once and is relayed at once.
    """
    return outbox_send_many(task, [kwargs])[0]


def outbox_send_many(task: Any, kwargs_list: list[dict[str, Any]]) -> list[OutboxMessage]:
    """One message per ``kwargs`` of ``kwargs_list``, in one ``INSERT``, relayed in this order."""
    name = _task_name(task)
    now = timezone.now()
    rows = OutboxMessage.objects.bulk_create(
        [OutboxMessage(task=name, kwargs=kwargs, created_at=now, available_at=now) for kwargs in kwargs_list]
    )
    pending = _pending()
    for row in rows:
        pending.append(row.pk)
        # One callback per message (a rolled-back savepoint drops its own); the first to
        # run after the commit relays every message of the transaction in one batch.
        transaction.on_commit(_relay_committed, robust=True)
    return rows


def _pending() -> list[int]:
    if not hasattr(_local, "pending"):
        _local.pending = []
    return _local.pending


def _relay_committed() -> None:
    ids, _local.pending = _pending(), []
    if ids:
        try:
            outbox_relay(ids=ids)
        except Exception:  # the beat-driven relay sends them later; the caller has committed
            logger.exception("outbox: fast-path relay failed; the periodic relay will send")


@dataclass
class RelayResult:
    sent: int = 0
    failed: int = 0


def _publish(message: OutboxMessage) -> None:
    from celery import current_app

    task = current_app.tasks.get(message.task)
    if task is None:  # a task this process does not import: the worker may know it
        current_app.send_task(message.task, kwargs=message.kwargs)
    else:
        task.delay(**message.kwargs)


def outbox_backoff(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failed send a message is tried again."""
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), OUTBOX_BACKOFF_MAX))


def outbox_relay(
    *, ids: list[int] | None = None, batch: int = OUTBOX_BATCH, now: datetime | None = None
) -> RelayResult:
    """Send the pending messages that are due (only ``ids`` when given), oldest first.

    Each batch is one transaction: lock up to ``batch`` due rows, skipping those another
    relay holds; send them in id order; stamp the sent ones. The first failed send stops
    the relay (the broker is likely down): that row waits its backoff, the rest stay due.
    """
    result = RelayResult()
    while True:
        stamp = now or timezone.now()
        with transaction.atomic():
            due = OutboxMessage.objects.filter(sent_at__isnull=True, available_at__lte=stamp)
            if ids is not None:
                due = due.filter(pk__in=ids)
            rows = list(locked(due, skip_locked=True)[:batch])
            sent: list[int] = []
            failure: tuple[OutboxMessage, Exception] | None = None
            for row in rows:
                try:
                    _publish(row)
                except Exception as exc:
                    failure = (row, exc)
                    break
                sent.append(row.pk)
            if sent:
                OutboxMessage.objects.filter(pk__in=sent).update(sent_at=stamp)
            result.sent += len(sent)
            if failure is not None:
                row, exc = failure
                attempts = row.attempts + 1
                OutboxMessage.objects.filter(pk=row.pk).update(
                    attempts=attempts,
                    available_at=stamp + outbox_backoff(attempts),
                    last_error=f"{type(exc).__name__}: {exc}"[:2000],
                )
                result.failed += 1
                logger.warning(
                    "outbox: sending %s #%s failed (attempt %s): %s", row.task, row.pk, attempts, exc
                )
                return result
        if len(rows) < batch:
            return result


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest_age_seconds: float  # 0 when nothing is pending
    failing: int  # pending rows whose last send failed


def outbox_backlog(*, now: datetime | None = None) -> Backlog:
    """What waits to be sent: for monitoring (a growing ``oldest_age_seconds`` is an alert)."""
    pending = OutboxMessage.objects.filter(sent_at__isnull=True)
    oldest = pending.order_by("pk").values_list("created_at", flat=True).first()
    age = ((now or timezone.now()) - oldest).total_seconds() if oldest else 0.0
    return Backlog(
        pending=pending.count(),
        oldest_age_seconds=max(age, 0.0),
        failing=pending.filter(attempts__gt=0).count(),
    )


def outbox_prune(*, older_than: timedelta = OUTBOX_KEEP_SENT, now: datetime | None = None) -> int:
    """Delete the messages sent more than ``older_than`` ago; how many."""
    cutoff = (now or timezone.now()) - older_than
    deleted, _ = OutboxMessage.objects.filter(sent_at__isnull=False, sent_at__lt=cutoff).delete()
    return deleted
