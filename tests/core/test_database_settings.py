"""What every PostgreSQL connection of the service is set up with (loyalty/settings.py)."""

import pytest
from django.db import connection

from tests.conftest import requires_postgres
from tests.loyalty.test_settings import run_python


@requires_postgres
def test_postgresql_connections_do_not_jit_compile(db):
    # JIT cost each chunk statement of the iron-fan recompute 350 ms of compiling.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


@requires_postgres
def test_a_statement_run_often_is_kept_prepared_by_the_server(db):
    # Planning the order's member row cost 0.9 ms against 0.15 ms of executing it: a
    # connection keeps what it runs DB_PREPARE_THRESHOLD (5) times prepared.
    statement = "SELECT count(*) FROM members_merchant WHERE id = %s"
    with connection.cursor() as cursor:
        for _ in range(6):
            cursor.execute(statement, [1])
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]

    assert "SELECT count(*) FROM members_merchant WHERE id = $1" in prepared


@requires_postgres
def test_parameters_are_bound_by_the_server(db):
    # A bound parameter reaches PostgreSQL as a parameter, never spliced into the text.
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text", ["it's"])
        assert cursor.fetchone() == ("it's",)
        assert connection.connection.cursor_factory.__name__ == "ServerBindingCursor"


@pytest.mark.parametrize(
    ("value", "threshold"), [(None, 5), ("0", None), ("2", 2)], ids=["default", "off", "set"]
)
def test_db_prepare_threshold_sets_how_often_a_statement_runs_before_it_is_prepared(value, threshold):
    env = {"SECRET_KEY": "s", "DATABASE_URL": "postgres://u@db.example/fanbase"}
    if value is not None:
        env["DB_PREPARE_THRESHOLD"] = value
    code = (
        "import loyalty.settings as s; o = s.DATABASES['default']['OPTIONS'];"
        " print(o['server_side_binding'], o['prepare_threshold'])"
    )
    result = run_python(code, **env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", str(threshold)]


@pytest.mark.parametrize(
    ("url", "engine"),
    [
        ("postgres://u@db.example/fanbase", "core.postgresql"),
        ("sqlite:///x.sqlite3", "django.db.backends.sqlite3"),
    ],
    ids=["postgresql", "sqlite"],
)
def test_postgresql_runs_on_the_backend_whose_health_check_asks_the_socket(url, engine):
    code = (
        "import loyalty.settings as s; d = s.DATABASES['default'];"
        " print(d['ENGINE'], d['CONN_HEALTH_CHECKS'])"
    )
    result = run_python(code, SECRET_KEY="s", DATABASE_URL=url)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [engine, "True"]
