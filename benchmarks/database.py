"""The benchmark's own PostgreSQL database, created and dropped by the harness.

The server comes from ``DATABASE_URL`` when it names a PostgreSQL server (its user,
password, host and port), else ``postgres://postgres@127.0.0.1:5432``. The database
is always the harness's own (``fanbase_bench`` unless ``--db-name``), never the one
``DATABASE_URL`` names, and its name must contain "bench": dropping it is safe.
"""

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_NAME = "fanbase_bench"
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}
LOOPBACK = {"127.0.0.1", "localhost", "::1", ""}


class DatabaseError(SystemExit):
    pass


def bench_database_url(*, name: str = DEFAULT_NAME, environ=os.environ) -> str:
    if "bench" not in name:
        raise DatabaseError(
            f"--db-name {name!r}: the harness drops this database, so its name must contain 'bench'."
        )
    given = environ.get("DATABASE_URL", "")
    server = given if urlsplit(given).scheme in POSTGRES_SCHEMES else DEFAULT_SERVER
    parts = urlsplit(server)
    if (parts.hostname or "") not in LOOPBACK:
        raise DatabaseError(
            f"The benchmark only talks to a local PostgreSQL; DATABASE_URL names {parts.hostname!r}."
        )
    return urlunsplit(("postgres", parts.netloc, f"/{name}", "", ""))


def _maintenance_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))


def _name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def database_exists(url: str) -> bool:
    with psycopg.connect(_maintenance_url(url), autocommit=True, connect_timeout=10) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [_name(url)]).fetchone()
    return row is not None


def database_recreate(url: str) -> None:
    """Drop (closing other sessions) and create the benchmark database."""
    name = sql.Identifier(_name(url))
    with psycopg.connect(_maintenance_url(url), autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def psycopg_url(url: str) -> str:
    """The same database in the spelling libpq accepts everywhere."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


MARKER_TABLE = "bench_meta"
# What ``benchmarks/dataset/`` generates: bump it when that changes, so that
# ``--reuse-data`` rebuilds a dataset made by an older harness instead of reusing it.
# 1: the first dataset; 2: coupon templates and coupons; 3: the memberships' iron-fan flag.
DATASET_VERSION = 3


def dataset_marker(url: str) -> tuple[str, int, int] | None:
    """(scale, seed, version) of the dataset a completed build left in this database, if any."""
    if not database_exists(url):
        return None
    with psycopg.connect(psycopg_url(url), autocommit=True, connect_timeout=10) as conn:
        if conn.execute("SELECT to_regclass(%s)", [MARKER_TABLE]).fetchone()[0] is None:
            return None
        # A marker from before versions has no version column: version 1.
        row = conn.execute(f"SELECT to_jsonb(m) FROM {MARKER_TABLE} m").fetchone()
    return None if row is None else (row[0]["scale"], row[0]["seed"], row[0].get("version") or 1)


def dataset_mark(url: str, *, scale: str, seed: int) -> None:
    with psycopg.connect(psycopg_url(url), autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {MARKER_TABLE}")
        conn.execute(f"CREATE TABLE {MARKER_TABLE} (scale text, seed int, version int, built_at timestamptz)")
        conn.execute(f"INSERT INTO {MARKER_TABLE} VALUES (%s, %s, %s, now())", [scale, seed, DATASET_VERSION])
