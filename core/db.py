"""Database faults, handled once: conflicts retried, an unreachable database a 503.

- :func:`retry_on_conflict` runs a unit of work again when PostgreSQL aborts it with a
  serialization failure (SQLSTATE 40001) or a deadlock (40P01): the transaction was
  rolled back whole, so running it again from the start is safe, and it commits once.
  It retries only at the outermost level (inside an outer transaction the outer one is
  aborted too and must be retried by its own caller). Every API view retries this way
  (``core.api.RetryingApiView``); a task or command may wrap its service in it.
- :func:`database_unavailable` says whether an exception means the database cannot
  serve now (down, restarting, a conflict retried out, a statement timeout): the API
  answers 503 ``service_unavailable`` with ``Retry-After`` (``core.errors``), never a 500.
"""

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError, InterfaceError, OperationalError

logger = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
CONFLICT_ATTEMPTS = 5  # tries in all, the first included
CONFLICT_BACKOFF = 0.02  # seconds before the first retry, doubled each time, with jitter


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (psycopg's, under Django's wrapper), else None."""
    for error in (exc, exc.__cause__):
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if state:
            return state
    return None


def is_conflict(exc: BaseException) -> bool:
    """A serialization failure or a deadlock: the transaction lost a race and may run again."""
    return isinstance(exc, DatabaseError) and sqlstate(exc) in RETRYABLE_SQLSTATES


def database_unavailable(exc: BaseException) -> bool:
    """The database cannot serve this request now; another try later may succeed."""
    return isinstance(exc, (OperationalError, InterfaceError))


def can_retry_here(using: str = "default") -> bool:
    """Outside any transaction: a retry starts the whole unit of work again."""
    from django.db import connections

    return not connections[using].in_atomic_block


def retry_on_conflict(
    work: Callable[[], T], *, attempts: int = CONFLICT_ATTEMPTS, first_error: BaseException | None = None
) -> T:
    """``work()``, again after a serialization failure or deadlock, up to ``attempts`` tries.

    ``work`` opens its own transaction(s) (a service under ``@transaction.atomic``) and
    must be called outside any transaction; then a conflict has rolled everything back
    and the next try commits once. Inside a transaction the conflict is raised at once.
    ``first_error``: the conflict of a first try already made (the count includes it).
    The last conflict is raised when every try lost.
    """
    tried = 0
    error = first_error
    if error is not None:
        tried = 1
    while True:
        if error is not None:
            if not is_conflict(error) or not can_retry_here() or tried >= attempts:
                raise error
            pause = CONFLICT_BACKOFF * 2 ** (tried - 1) * (0.5 + random.random())
            logger.info(
                "database conflict (%s), try %s of %s in %.3fs", sqlstate(error), tried + 1, attempts, pause
            )
            time.sleep(pause)
        try:
            tried += 1
            return work()
        except DatabaseError as exc:
            error = exc
