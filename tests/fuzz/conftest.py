import pytest

from tests.tenants import tenant_build


@pytest.fixture
def world(db, keep_the_test_connection):
    """Alfa, whose credentials call, and zeta beside it."""
    alfa = tenant_build("alfa")
    tenant_build("zeta")
    return alfa
