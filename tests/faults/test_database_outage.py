"""PostgreSQL stops and starts again under a load of orders: clients get clean 503s in the
error shape (never a 500, never a hung request), no order is half written, ``/healthz``
says 503 while the database is down, and the same gunicorn serves again once it is back.

The database is a throwaway cluster the test makes (initdb + pg_ctl on a free port),
never the shared one.
"""

import subprocess
import sys
import threading
import time

import psycopg
import pytest
from django.db import connection

from tests.faults.processes import (
    ROOT,
    Postgres,
    Redis,
    call,
    database_url_of,
    gunicorn,
    postgres_bin,
    service_env,
    stop,
)

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): the suite's PostgreSQL run holds the fault tests",
    ),
    pytest.mark.skipif(postgres_bin() is None, reason="no initdb/pg_ctl on this machine"),
    pytest.mark.django_db(transaction=True),  # the test database's schema is copied
]

CLIENTS = 4
ORDERS = "/api/v1/merchant/orders"
SEED = """
import django; django.setup()
from decimal import Decimal
from loyalty.models import Program
from loyalty.services.memberships import membership_enrol
from members.models import Merchant, MerchantAPIKey, Shopper
from storefront.models import Product
merchant = Merchant.objects.create(slug="outage", name="Outage")
Program.objects.create(merchant=merchant, points_per_unit=Decimal("1"), join_bonus_points=0)
Product.objects.create(merchant=merchant, sku="S0", title="t", price=Decimal("10.00"))
for i in range(%(clients)d):
    membership_enrol(shopper=Shopper.objects.create(external_id=f"pg-{i}"), merchant=merchant)
print(MerchantAPIKey.objects.create_key(merchant=merchant, name="outage")[1])
"""


@pytest.fixture
def cluster(tmp_path):
    pg = Postgres().init()
    redis = None
    web = None
    try:
        pg.start()
        with psycopg.connect(pg.url("postgres"), autocommit=True) as admin:
            admin.execute("CREATE DATABASE fanbase")
        redis = Redis(tmp_path).start()
        env = service_env(database_url=pg.url(), broker_url=f"{redis.url}/0", var=tmp_path / "var")
        # The schema of the test database (migrated already): seconds, where migrating takes a minute.
        schema = subprocess.run(
            [
                "pg_dump",
                "--schema-only",
                "--no-owner",
                "--no-privileges",
                database_url_of(connection.settings_dict),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        load_schema = ["psql", "-q", "-v", "ON_ERROR_STOP=1", pg.url()]
        subprocess.run(load_schema, input=schema, text=True, check=True, capture_output=True)
        done = subprocess.run(
            [sys.executable, "-c", SEED % {"clients": CLIENTS}],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        key = done.stdout.strip().splitlines()[-1]
        web, port = gunicorn(env, tmp_path)
        yield {"pg": pg, "port": port, "key": key}
    finally:
        if (tmp_path / "gunicorn.log").exists():
            print((tmp_path / "gunicorn.log").read_text()[-4000:])
        stop(web)
        if redis is not None:
            redis.stop()
        pg.destroy()


class Load:
    """``CLIENTS`` threads posting orders one after another, each answer recorded."""

    def __init__(self, port: int, key: str):
        self.port, self.auth = port, {"Authorization": f"Api-Key {key}"}
        self.answers: list[tuple[str, int, dict, float]] = []  # external id, status, body, when
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(i,)) for i in range(CLIENTS)]

    def order(self, client: int, n: int) -> dict:
        return {
            "external_id": f"pg-order-{client}-{n}",
            "shopper": f"pg-{client}",
            "lines": [{"sku": "S0", "quantity": 1, "unit_price": "10.00"}],
            "coupon_codes": [],
        }

    def client(self, client: int) -> None:
        n = 0
        while not self.done.is_set():
            body = self.order(client, n)
            try:
                status, answer = call(
                    self.port, "POST", "/api/v1/merchant/orders", body, self.auth, timeout=20
                )
            except OSError as exc:  # a hung or dropped request: a failure of the test
                status, answer = -1, {"error": repr(exc)}
            with self.lock:
                self.answers.append((body["external_id"], status, answer, time.monotonic()))
            n += 1
            time.sleep(0.05)

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=30)


def test_a_database_restart_under_load_is_clean_503s_then_service_again(cluster):
    pg, port = cluster["pg"], cluster["port"]
    assert call(port, "GET", "/healthz")[0] == 200

    with Load(port, cluster["key"]) as load:
        time.sleep(2)
        pg.stop()
        down_at = time.monotonic()
        time.sleep(1)
        health_down = call(port, "GET", "/healthz", timeout=20)
        time.sleep(2)
        pg.start()
        up_at = time.monotonic()
        time.sleep(4)
    health_up = call(port, "GET", "/healthz")

    statuses = [status for _, status, _, _ in load.answers]
    assert set(statuses) <= {201, 503}, sorted(set(statuses))  # never a 500, never a hang
    refused = [(ext, body) for ext, status, body, _ in load.answers if status == 503]
    assert refused, "no request met the database down"
    for _, body in refused:
        assert body["type"] == "server_error"
        assert [e["code"] for e in body["errors"]] == ["service_unavailable"]
    assert health_down[0] == 503 and any("database" in p for p in health_down[1]["problems"])
    assert health_up[0] == 200
    served_after = [s for _, s, _, when in load.answers if when > up_at + 2]
    assert served_after and set(served_after) == {201}, "the same gunicorn serves again without a restart"
    assert any(when < down_at for _, s, _, when in load.answers if s == 201)

    # Each refused order, sent again, is recorded once (or read back, had it committed).
    auth = {"Authorization": f"Api-Key {cluster['key']}"}
    for ext, _ in refused:
        client, n = (int(x) for x in ext.removeprefix("pg-order-").split("-"))
        assert call(port, "POST", ORDERS, load.order(client, n), auth)[0] in (200, 201)

    accepted = {ext for ext, status, _, _ in load.answers if status in (200, 201)} | {
        ext for ext, _ in refused
    }
    with psycopg.connect(pg.url()) as db:
        orders = {row[0] for row in db.execute("SELECT external_id FROM storefront_order")}
        assert orders == accepted
        half_written = db.execute(
            """SELECT o.external_id FROM storefront_order o
               WHERE (SELECT count(*) FROM storefront_orderline l WHERE l.order_id = o.id) != 1
                  OR (SELECT count(*) FROM loyalty_pointsentry e WHERE e.order_id = o.id) != 1"""
        ).fetchall()
        assert half_written == []
        drift = db.execute(
            """SELECT a.id FROM loyalty_pointsaccount a
               WHERE a.balance != (SELECT coalesce(sum(delta), 0) FROM loyalty_pointsentry e
                                   WHERE e.account_id = a.id)"""
        ).fetchall()
        assert drift == []
