"""What every PostgreSQL connection of the service is set up with (loyalty/settings.py)."""

from django.db import connection

from tests.conftest import requires_postgres


@requires_postgres
def test_postgresql_connections_do_not_jit_compile(db):
    # JIT cost each chunk statement of the iron-fan recompute 350 ms of compiling.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
