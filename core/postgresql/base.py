"""Django's PostgreSQL backend, with a health check that does not ask the server.

Connections persist across requests (``CONN_MAX_AGE``) with ``CONN_HEALTH_CHECKS`` on, so
that a connection the server ended while it sat idle (a restart, ``idle_session_timeout``,
``pg_terminate_backend``) is replaced before a request uses it instead of failing that
request. Django checks with ``SELECT 1``: a round trip before every request's first
statement, 84 µs of wall time and 61 µs of the worker's CPU on a slow 2-core machine (and
PostgreSQL's own CPU beside it) against 2.4 µs for this check (docs/performance.md, "A
health check that does not ask the server").

A server that ends a connection tells it first: it sends its FATAL error and closes the
socket, and an idle connection has nothing else to read. So the socket of an idle,
healthy connection is not readable, and looking at it (a zero-timeout poll) is the whole
check. Anything unexpected — input waiting, a transaction open, no way to poll — falls
back to Django's own ``SELECT 1``: the check is never weaker than Django's. A path that
died with no word from the server (a cable, a firewall) goes unseen by both until the
first statement: ``SELECT 1`` would hang on it as long as the request's own statement.
"""

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or not _open(self.connection.pgconn):
            return False
        pgconn = self.connection.pgconn
        if pgconn.transaction_status != pq.TransactionStatus.IDLE or not hasattr(select, "poll"):
            return super().is_usable()
        try:
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
            spoke = poller.poll(0)
        except (psycopg.Error, OSError):
            return False
        if not spoke:
            return True  # idle, and the server has said nothing: usable
        # The server spoke while we were idle: most likely its goodbye. Read it; a closed
        # socket leaves the connection bad. Otherwise (a NOTIFY, a parameter's new value)
        # ask the server, as Django would.
        try:
            pgconn.consume_input()
        except psycopg.Error:
            return False
        if not _open(pgconn):
            return False
        return super().is_usable()


def _open(pgconn) -> bool:
    """Connected and not lost: psycopg's ``closed`` and ``broken`` both mean this is false."""
    return pgconn.status == pq.ConnStatus.OK
