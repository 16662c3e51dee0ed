"""``make soak``: many concurrent clients mixing every write and some reads for a while,
then the ledgers' invariants checked on the database.

    python -m benchmarks.soak --clients 50 --seconds 60        # make soak
    python -m benchmarks.soak --clients 10 --seconds 15        # the bounded run of .ci/run

On its own PostgreSQL database (``--db-name``, dropped and rebuilt; the name must
contain ``soak``), migrated, seeded with one merchant, a program, a catalog, a points
coupon and shoppers (half of them members), served by gunicorn as production runs it.
Each client is a thread with its own keep-alive connection, looping over a weighted mix:
orders (some redeeming a coupon the shopper got by exchange), replays of an order,
partial refunds, coupon validations, exchanges of points for a coupon, joins, follows
and reads. Business refusals (not enough points, a coupon already used, nothing left to
refund) are 4xx and expected; a 5xx or a dropped connection fails the run.

Afterwards, on the database: each points balance equals its ledger's sum, and no spend
or expiry took it below zero (no overdraw; a refund of spent points may leave a debt);
each lot's ``remaining`` is within 0 and its points; each template's ``issued_count``
equals its coupon rows; no coupon is redeemed by two orders (nor by two answers the
clients got). Prints throughput and p50/p99 per operation.
Exits 1 when anything failed.
"""

import argparse
import http.client
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import psycopg

import benchmarks.server as server_module
from benchmarks.database import DatabaseError, database_recreate, psycopg_url
from benchmarks.loadgen import HOST
from benchmarks.server import PROXY_HEADERS, Server

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NAME = "fanbase_soak"
SHOPPERS = 200
SKUS = [f"SOAK-{i}" for i in range(5)]
TIMEOUT = 30.0
LOCAL_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"

# Operation -> weight in the mix.
MIX = {
    "order": 30,
    "replay": 8,
    "refund": 8,
    "validate": 10,
    "exchange": 8,
    "join": 6,
    "follow": 8,
    "read_wallet": 8,
    "read_orders": 7,
    "read_coupons": 7,
}

SEED = """
import json, django
django.setup()
from decimal import Decimal
from django.contrib.auth import get_user_model
from knox.models import AuthToken
from coupons.models import CouponTemplate
from loyalty.models import Program
from loyalty.services.memberships import membership_enrol
from members.models import Account, Merchant, MerchantAPIKey, Shopper
from storefront.models import Product

merchant = Merchant.objects.create(slug="soak", name="Soak")
Program.objects.create(merchant=merchant, points_per_unit=Decimal("1"), join_bonus_points=0)
for sku in %(skus)r:
    Product.objects.create(merchant=merchant, sku=sku, title=sku, price=Decimal("10.00"))
account = Account.objects.create(merchant=merchant, handle="soak-live", kind="brand", display_name="Soak")
template = CouponTemplate.objects.create(
    merchant=merchant, name="5 off for 20 points", kind="fixed", value=Decimal("5.00"), points_price=20,
    per_member_limit=3, valid_days=30,
)
User = get_user_model()
shoppers = []
for i in range(%(shoppers)d):
    user = User.objects.create(username=f"soak-{i}")
    shopper = Shopper.objects.create(external_id=f"soak-{i}", user=user)
    if i %% 2 == 0:
        membership_enrol(shopper=shopper, merchant=merchant)
    token = AuthToken.objects.create(user=user)[1]
    shoppers.append({"id": shopper.external_id, "token": token, "member": i %% 2 == 0})
print(json.dumps({
    "key": MerchantAPIKey.objects.create_key(merchant=merchant, name="soak")[1],
    "merchant": merchant.slug, "account": account.handle, "template": template.pk, "shoppers": shoppers,
}))
"""


class World:
    """What the clients share: the seeded ids and what they have done so far."""

    def __init__(self, seed: dict):
        self.key = seed["key"]
        self.merchant, self.account, self.template = seed["merchant"], seed["account"], seed["template"]
        self.shoppers = seed["shoppers"]
        self.lock = threading.Lock()
        self.orders: list[dict] = []  # bodies of orders answered 201
        self.codes: dict[str, list[str]] = defaultdict(list)  # shopper -> coupon codes got by exchange
        self.redeemed: Counter = Counter()  # code -> orders answered 201 that redeemed it
        self.sequence = 0

    def next_id(self, prefix: str) -> str:
        with self.lock:
            self.sequence += 1
            return f"{prefix}-{self.sequence}"


class Client:
    def __init__(self, port: int, world: World, rng: random.Random):
        self.port, self.world, self.rng = port, world, rng
        self.conn: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, body=None, auth: str = "") -> tuple[int, dict]:
        headers = {**PROXY_HEADERS, "Authorization": auth}
        payload = None if body is None else json.dumps(body).encode()
        if payload is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=TIMEOUT)
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                response = self.conn.getresponse()
                content = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()  # a kept-alive connection the server closed: once more
                self.conn = None
                if attempt == 2:
                    raise
                continue
            try:
                return response.status, json.loads(content) if content else {}
            except ValueError:
                return response.status, {"raw": content[:200].decode(errors="replace")}
        raise AssertionError("unreachable")

    def merchant(self) -> str:
        return f"Api-Key {self.world.key}"

    def shopper(self, member: bool | None = None) -> dict:
        choices = [s for s in self.world.shoppers if member is None or s["member"] == member]
        return self.rng.choice(choices)

    def cart(self) -> list[dict]:
        skus = self.rng.sample(SKUS, self.rng.randint(1, 3))
        return [{"sku": sku, "quantity": self.rng.randint(1, 3), "unit_price": "10.00"} for sku in skus]

    def run(self, op: str) -> tuple[int, dict]:
        w, rng = self.world, self.rng
        if op == "order" or (op in ("replay", "refund") and not w.orders):  # nothing to replay yet
            shopper = self.shopper(member=True)
            codes = []
            with w.lock:
                if w.codes[shopper["id"]] and rng.random() < 0.5:
                    codes = [w.codes[shopper["id"]].pop(0)]
            body = {
                "external_id": w.next_id("order"),
                "shopper": shopper["id"],
                "lines": self.cart(),
                "coupon_codes": codes,
            }
            status, answer = self.send("POST", "/api/v1/merchant/orders", body, self.merchant())
            if status == 201:
                with w.lock:
                    w.orders.append(body)
                    for code in answer.get("coupons_redeemed", []):
                        w.redeemed[code] += 1
            return status, answer
        if op == "replay":
            with w.lock:
                body = rng.choice(w.orders)
            return self.send("POST", "/api/v1/merchant/orders", body, self.merchant())
        if op == "refund":
            with w.lock:
                order = rng.choice(w.orders)
            line = rng.choice(order["lines"])
            body = {"external_id": w.next_id("refund"), "lines": [{"sku": line["sku"], "quantity": 1}]}
            return self.send(
                "POST", f"/api/v1/merchant/orders/{order['external_id']}/refunds", body, self.merchant()
            )
        if op == "validate":
            shopper = self.shopper(member=True)
            with w.lock:
                codes = w.codes[shopper["id"]][:1]
            body = {"shopper": shopper["id"], "lines": self.cart(), "coupon_codes": codes}
            return self.send("POST", "/api/v1/merchant/coupons/validate", body, self.merchant())
        if op == "exchange":
            shopper = self.shopper(member=True)
            body = {"merchant": w.merchant, "template": w.template}
            status, answer = self.send(
                "POST", "/api/v1/me/coupons/exchange", body, f"Token {shopper['token']}"
            )
            if status == 201 and answer.get("code"):
                with w.lock:
                    w.codes[shopper["id"]].append(answer["code"])
            return status, answer
        if op == "join":
            shopper = self.shopper()
            body = {"merchant": w.merchant}
            return self.send("POST", "/api/v1/me/memberships", body, f"Token {shopper['token']}")
        if op == "follow":
            shopper = self.shopper()
            return self.send(
                "POST", "/api/v1/me/follows", {"account": w.account}, f"Token {shopper['token']}"
            )
        if op == "read_wallet":
            return self.send("GET", "/api/v1/me/wallet", auth=f"Token {self.shopper()['token']}")
        if op == "read_orders":
            return self.send("GET", "/api/v1/merchant/orders?page_size=20", auth=self.merchant())
        if op == "read_coupons":
            return self.send("GET", "/api/v1/me/coupons", auth=f"Token {self.shopper()['token']}")
        raise ValueError(op)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), math.ceil(share * len(ordered)))) - 1]


def load(port: int, world: World, *, clients: int, seconds: float, seed: int) -> dict:
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, Counter] = defaultdict(Counter)
    failures: list[str] = []
    refusals: dict[str, Counter] = defaultdict(Counter)  # op -> error codes of its 4xx
    lock = threading.Lock()
    ops, weights = list(MIX), list(MIX.values())
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        me = Client(port, world, rng)
        while time.monotonic() < deadline:
            op = rng.choices(ops, weights)[0]
            started = time.perf_counter()
            try:
                status, answer = me.run(op)
            except (OSError, http.client.HTTPException) as exc:
                status, answer = 0, {"error": f"{type(exc).__name__}: {exc}"}
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                statuses[op][status] += 1
                latencies[op].append(elapsed)
                if status == 0 or status >= 500:
                    failures.append(f"{op}: {status} {str(answer)[:300]}")
                elif status >= 400:
                    errors = answer.get("errors") or [{}]
                    refusals[op][errors[0].get("code", "?")] += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + TIMEOUT + 10)
    return {
        "elapsed": time.monotonic() - started,
        "latencies": latencies,
        "statuses": statuses,
        "failures": failures,
        "refusals": refusals,
        "hung": sum(t.is_alive() for t in threads),
    }


INVARIANTS = {
    "each points balance equals its ledger's sum": """
        SELECT a.id FROM loyalty_pointsaccount a
        WHERE a.balance <> (SELECT coalesce(sum(e.delta), 0) FROM loyalty_pointsentry e
                            WHERE e.account_id = a.id)
    """,
    # A refund may take back points already spent and leave a debt (loyalty.models): a
    # negative balance is allowed, a spend or an expiry that makes one is an overdraw.
    "no spend or expiry below zero (no overdraw)": """
        SELECT id FROM (
            SELECT id, kind, SUM(delta) OVER (PARTITION BY account_id ORDER BY id) AS after
            FROM loyalty_pointsentry
        ) running
        WHERE kind IN ('redeem', 'expire') AND after < 0
    """,
    "each lot's remaining within 0 and its points": """
        SELECT id FROM loyalty_pointsentry
        WHERE delta > 0 AND remaining IS NOT NULL AND (remaining < 0 OR remaining > delta)
    """,
    "each template's issued count equals its coupon rows": """
        SELECT t.id FROM coupons_coupontemplate t
        WHERE t.issued_count <> (SELECT count(*) FROM coupons_coupon c WHERE c.template_id = t.id)
    """,
    "a redeemed coupon names its one order, and only redeemed coupons do": """
        SELECT id FROM coupons_coupon
        WHERE (state = 'redeemed') <> (order_id IS NOT NULL)
           OR (state = 'redeemed') <> (redeemed_at IS NOT NULL)
    """,
}


def check_invariants(url: str, world: World) -> list[str]:
    broken = []
    with psycopg.connect(psycopg_url(url)) as db:
        for name, query in INVARIANTS.items():
            rows = db.execute(query).fetchall()
            if rows:
                broken.append(f"{name}: {len(rows)} rows break it (e.g. id {rows[0][0]})")
        counts = dict(db.execute("SELECT 'orders', count(*) FROM storefront_order").fetchall())
    twice = [code for code, n in world.redeemed.items() if n > 1]
    if twice:
        broken.append(f"no coupon redeemed twice: {len(twice)} codes were answered redeemed by two orders")
    if counts.get("orders", 0) != len({o["external_id"] for o in world.orders}):
        broken.append(f"orders answered 201 ({len(world.orders)}) != order rows ({counts.get('orders')})")
    return broken


def report(result: dict, clients: int) -> None:
    elapsed = result["elapsed"]
    total = sum(len(v) for v in result["latencies"].values())
    print(f"\n{clients} clients for {elapsed:.1f}s: {total} requests, {total / elapsed:.0f}/s")
    print(f"{'operation':<14} {'count':>7} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for op in MIX:
        values = result["latencies"].get(op, [])
        codes = " ".join(f"{k}:{v}" for k, v in sorted(result["statuses"].get(op, {}).items()))
        refused = result["refusals"].get(op)
        if refused:
            codes += " (" + ", ".join(f"{k} {v}" for k, v in refused.most_common(3)) + ")"
        print(
            f"{op:<14} {len(values):>7} {len(values) / elapsed:>7.1f} "
            f"{percentile(values, 0.5):>8.1f} {percentile(values, 0.99):>8.1f}  {codes}"
        )


def service_env(url: str, var: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loyalty.settings",
        "DATABASE_URL": url,
        "SECRET_KEY": "soak-only-not-a-secret",
        "ALLOWED_HOSTS": HOST,
        "FANBASE_VAR_DIR": str(var),
        "LOG_LEVEL": "WARNING",
        "AUTH_THROTTLE_RATE": "100000/min",
    }
    env.setdefault("CELERY_BROKER_URL", "memory://")  # nothing here needs a worker: outbox rows wait
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--db-name", default=DEFAULT_NAME)
    parser.add_argument("--shoppers", type=int, default=SHOPPERS)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if "soak" not in args.db_name:
        raise DatabaseError(f"--db-name {args.db_name!r}: the soak drops this database; name it *soak*.")
    given = os.environ.get("DATABASE_URL", "")
    server_url = given if given.startswith(("postgres://", "postgresql://")) else LOCAL_SERVER
    url = server_url.rsplit("/", 1)[0] + f"/{args.db_name}"

    var = Path(tempfile.mkdtemp(prefix="fanbase-soak-"))
    env = service_env(url, var)
    print(f"soak: rebuilding {args.db_name}, migrating and seeding ...", flush=True)
    database_recreate(url)
    for command in (
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        [sys.executable, "-c", SEED % {"skus": SKUS, "shoppers": args.shoppers}],
    ):
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1
    world = World(json.loads(done.stdout.strip().splitlines()[-1]))

    server_module.WORKERS = args.workers  # read when the server starts
    server = Server(env=env, log_path=var / "gunicorn.log", cwd=ROOT)
    server.start()
    try:
        print(f"soak: {args.clients} clients for {args.seconds:.0f}s on gunicorn ({args.workers} workers)")
        result = load(server.port, world, clients=args.clients, seconds=args.seconds, seed=args.seed)
    finally:
        server.stop()
    report(result, args.clients)

    problems = list(result["failures"][:20])
    if len(result["failures"]) > 20:
        problems.append(f"... and {len(result['failures']) - 20} more server errors")
    if result["hung"]:
        problems.append(f"{result['hung']} clients still waiting on an answer after the deadline")
    broken = check_invariants(url, world)
    print("\ninvariants:")
    for name in [*INVARIANTS, "no coupon redeemed twice", "every order answered 201 is one row"]:
        print(f"  {'FAIL' if any(b.startswith(name) for b in broken) else 'ok  '} {name}")
    problems += broken
    errors_5xx = sum(n for c in result["statuses"].values() for s, n in c.items() if s == 0 or s >= 500)
    print(f"\n5xx or dropped: {errors_5xx}")
    if problems:
        print("\nsoak FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        print(f"(gunicorn log: {var / 'gunicorn.log'})", file=sys.stderr)
        return 1
    print("soak passed: zero 5xx, every invariant holds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
