import pytest
from django.core import signals
from django.db import close_old_connections

from tests.tenants import tenant_build


@pytest.fixture
def keep_the_test_connection():
    """As Django's test client does: a request must not close the connection that holds
    the test's transaction (on PostgreSQL ``close_old_connections`` would)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(db, keep_the_test_connection):
    """Alfa, whose credentials call, and zeta beside it."""
    alfa = tenant_build("alfa")
    tenant_build("zeta")
    return alfa
