"""The health check of a persistent connection (core/postgresql): it looks at the socket
and asks the server only when the socket says something."""

import select
from contextlib import contextmanager

from django.db import connections

from tests.conftest import requires_postgres

pytestmark = requires_postgres

WAIT = 5.0  # seconds for the server's word to reach the socket


@contextmanager
def fresh_connection():
    """A connection of its own, outside the test's transaction, as a request would hold it."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    try:
        yield wrapper
    finally:
        wrapper.close()


def backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def last_statement(observer, pid: int) -> str:
    """What the backend ``pid`` ran last, as PostgreSQL saw it."""
    with observer.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0]


def server_ends(wrapper, *, observer, pid: int) -> None:
    """The server ends the backend ``pid`` of ``wrapper``'s idle connection, and says so."""
    with observer.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    wait_until_readable(wrapper)


def wait_until_readable(wrapper) -> None:
    poller = select.poll()
    poller.register(wrapper.connection.pgconn.socket, select.POLLIN)
    assert poller.poll(WAIT * 1000), "the server said nothing"


def test_an_idle_healthy_connection_is_usable_without_a_statement(db):
    with fresh_connection() as wrapper, fresh_connection() as observer:
        pid = backend_pid(wrapper)

        assert wrapper.is_usable() is True
        assert last_statement(observer, pid) == "SELECT pg_backend_pid()"  # no SELECT 1 was sent


def test_a_connection_the_server_ended_is_not_usable(db):
    with fresh_connection() as wrapper, fresh_connection() as observer:
        pid = backend_pid(wrapper)
        server_ends(wrapper, observer=observer, pid=pid)

        assert wrapper.is_usable() is False


def test_the_next_request_gets_a_new_connection_when_the_server_ended_the_last_one(db):
    # Between requests the server ends the connection; the next request's first statement
    # runs on a new one instead of failing (CONN_HEALTH_CHECKS, as the settings have it).
    with fresh_connection() as wrapper, fresh_connection() as observer:
        assert wrapper.health_check_enabled
        pid = backend_pid(wrapper)
        server_ends(wrapper, observer=observer, pid=pid)

        wrapper.close_if_unusable_or_obsolete()  # request_started: what Django does first
        new_pid = backend_pid(wrapper)

        assert new_pid != pid


def test_a_connection_whose_server_spoke_while_idle_is_asked_before_it_is_trusted(db):
    # A NOTIFY is input on an idle, healthy socket: the check asks the server, as Django does.
    with fresh_connection() as wrapper, fresh_connection() as observer:
        pid = backend_pid(wrapper)
        with wrapper.cursor() as cursor:
            cursor.execute("LISTEN health_check_probe")
        with observer.cursor() as cursor:
            cursor.execute("NOTIFY health_check_probe")
        wait_until_readable(wrapper)

        assert wrapper.is_usable() is True
        assert last_statement(observer, pid) == "SELECT 1"


def test_a_connection_inside_a_transaction_is_asked_before_it_is_trusted(db):
    with fresh_connection() as wrapper, fresh_connection() as observer:
        pid = backend_pid(wrapper)
        wrapper.connection.execute("BEGIN")

        assert wrapper.is_usable() is True
        assert last_statement(observer, pid) == "SELECT 1"
        wrapper.connection.execute("ROLLBACK")


def test_a_closed_connection_is_not_usable(db):
    with fresh_connection() as wrapper:
        wrapper.connection.close()

        assert wrapper.is_usable() is False
