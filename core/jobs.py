"""The chunked job runner: every set-based job walks its rows in key ranges.

A job over many rows (expiry, due coupons, and the coming recompute, campaign,
rollout and snapshot jobs) never loads them all and never holds one transaction for
the whole run. It asks for the keys of its next chunk (the rows still to do, keyed
after the last chunk: a keyset scan, so each chunk costs one indexed query however far
the job has gone), then writes the chunk set-based between its first and last key.

- :func:`chunks` yields the :class:`Chunk` ranges, for a job that needs its own
  transactions (one per row, say).
- :func:`chunks_run` runs ``work(chunk)`` in one transaction per chunk, after an
  optional ``claim(chunk)``: a conditional ``UPDATE ... WHERE <still to do>`` in the
  chunk's range, as healthchecks' ``sendalerts`` claims a check. The claim counts the
  rows it took; when it took none, another worker has the chunk and this one moves
  on, so two workers never do the same chunk twice.
- :func:`chunks_enqueue` fans a job out: one Celery task per chunk, written to the
  transactional outbox (``core.outbox``) so that nothing leaves the process before the
  caller commits, and nothing is lost if the broker is down then.

Batch sizes are named constants in the job's module (``EXPIRY_BATCH = 10_000``).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import QuerySet

from core.outbox import outbox_send_many

T = TypeVar("T")


@dataclass(frozen=True)
class Chunk:
    """The keys of one chunk, ascending; ``lo`` and ``hi`` bound it (both included)."""

    keys: tuple[int, ...]

    @property
    def lo(self) -> int:
        return self.keys[0]

    @property
    def hi(self) -> int:
        return self.keys[-1]

    def __len__(self) -> int:
        return len(self.keys)


@dataclass
class ChunksResult:
    """What :func:`chunks_run` did: the works' results, and the chunks another worker had."""

    done: list = field(default_factory=list)
    skipped: int = 0


def chunks(queryset: QuerySet, *, size: int, key: str = "pk") -> Iterator[Chunk]:
    """The distinct ``key`` values of ``queryset`` in ascending chunks of at most ``size``.

    Each chunk is read when the previous one has been handled, onwards from its last
    key: rows the job changed so that they left ``queryset`` are not read again, and
    rows another worker holds are not fetched over and over.
    """
    if size < 1:
        raise ValueError("a chunk holds at least one row")
    after = None
    while True:
        rest = queryset if after is None else queryset.filter(**{f"{key}__gt": after})
        keys = rest.order_by(key).values_list(key, flat=True)
        if key not in ("pk", queryset.model._meta.pk.name):
            keys = keys.distinct()
        chunk = tuple(keys[:size])
        if not chunk:
            return
        yield Chunk(chunk)
        after = chunk[-1]


def chunks_run(
    queryset: QuerySet,
    *,
    size: int,
    work: Callable[[Chunk], T],
    claim: Callable[[Chunk], int] | None = None,
    key: str = "pk",
) -> ChunksResult:
    """``work(chunk)`` for every chunk of ``queryset``, one transaction per chunk.

    With ``claim``, each chunk's transaction first calls ``claim(chunk)``; a claim of
    no row means another worker took the chunk: ``work`` is not called, the chunk
    counts as skipped. A failing ``work`` rolls back its chunk (the claim with it) and
    stops the job; the chunks before it stay done.
    """
    result = ChunksResult()
    for chunk in chunks(queryset, size=size, key=key):
        with transaction.atomic():
            if claim is not None and not claim(chunk):
                result.skipped += 1
                continue
            result.done.append(work(chunk))
    return result


def chunks_enqueue(queryset: QuerySet, *, size: int, task: Any, key: str = "pk", **kwargs: Any) -> int:
    """One ``task(lo=..., hi=..., **kwargs)`` per chunk of ``queryset``, through the outbox.

    The task re-reads its range (``key`` between ``lo`` and ``hi``) with the job's own
    filter, so a row changed meanwhile is judged on what it is when the task runs.
    Returns how many tasks were enqueued.
    """
    messages = [{"lo": chunk.lo, "hi": chunk.hi, **kwargs} for chunk in chunks(queryset, size=size, key=key)]
    if messages:
        outbox_send_many(task, messages)
    return len(messages)
