"""Run callables at the same moment in real threads, each on its own database connection.

The one thread runner of the concurrency tests (PostgreSQL, committed transactions).
"""

import threading
import time


def all_at_once(calls, *, timeout: float = 60) -> list:
    """Start every call in its own thread, release them together through a barrier, and
    return what each returned or raised (in the order given). Each thread closes its
    connection, so the test database can be dropped afterwards."""
    from django.db import connection

    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # kept for the assertions, not lost in the thread
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not [t for t in threads if t.is_alive()], "a thread hung"
    return results


def each_at_once(work, count: int, *, timeout: float = 60) -> list:
    """``work(i)`` for ``i`` in ``range(count)``, all at once (``all_at_once``)."""
    return all_at_once([lambda i=i: work(i) for i in range(count)], timeout=timeout)


def wait_for_a_lock_waiter(seconds: float = 5) -> bool:
    """Whether another connection to the test database is waiting for a row lock (PostgreSQL)."""
    from django.db import connection

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            # Inside a transaction PostgreSQL keeps the first snapshot of pg_stat_activity
            # until the transaction ends; without clearing it, a waiter that arrives
            # after the first look is never seen.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.02)
    return False
