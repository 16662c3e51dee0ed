"""Order ingestion through ``purchase_record``, beside the same rows written with raw SQL.

Both sides run in alternating rounds on the same machine, so a noisy neighbour slows
both. The raw twin is the floor: the order, its lines, the earn entry and the balance,
four statements in one transaction per order, with every id already known and no
checks. The project also finds and locks the member, reads the products, handles
tiers and keeps the frequently-purchased statistics.
"""

import math
import time
from collections import Counter
from decimal import ROUND_FLOOR

import psycopg
from django.db import connection
from django.test.utils import CaptureQueriesContext
from psycopg.types.json import Jsonb

from benchmarks.payloads import OrderSpec, order_specs
from benchmarks.progress import Progress, say
from benchmarks.registry import Result, at_most, benchmark
from loyalty.services.purchases import purchase_record

SQL_BUDGET = 12  # issue 3: a 3-line member order takes at most 12 statements
ROUNDS = 10


@benchmark("orders.service", title="Order ingestion through the service, beside raw SQL")
def orders_service(ctx) -> list[Result]:
    data, scale = ctx.data, ctx.scale
    project = order_specs(data=data, seed=ctx.seed, prefix="svc", count=scale.service_orders)
    raw = order_specs(data=data, seed=ctx.seed, prefix="raw", count=scale.service_orders)
    size = max(1, math.ceil(len(project) / ROUNDS))
    spent = {"project": 0.0, "raw": 0.0, "cpu": 0.0}
    done = 0
    deadline = time.monotonic() + scale.time_limit
    with raw_connection() as conn, Progress("orders (each side)", len(project), unit="orders") as bar:
        for start in range(0, len(project), size):
            if time.monotonic() > deadline:
                say(f"  stopped at the {scale.time_limit:.0f}s limit after {done} orders a side")
                break
            batch = slice(start, start + size)
            cpu, wall = time.process_time(), time.perf_counter()
            _service(data.merchant, project[batch])
            spent["project"] += time.perf_counter() - wall
            spent["cpu"] += time.process_time() - cpu
            wall = time.perf_counter()
            _raw(conn, data.merchant.pk, raw[batch])
            spent["raw"] += time.perf_counter() - wall
            done += len(project[batch])
            bar.advance(len(project[batch]))
    rate, raw_rate = done / spent["project"], done / spent["raw"]
    say(f"  project  purchase_record      {done:>6} orders in {spent['project']:6.2f}s  {rate:8.1f} orders/s")
    say(f"  raw SQL  4 statements, 1 txn  {done:>6} orders in {spent['raw']:6.2f}s  {raw_rate:8.1f} orders/s")
    cpu_ms = spent["cpu"] / done * 1000
    say(f"  ratio    {rate / raw_rate:.2f}x of raw; the service used {cpu_ms:.1f} ms of Python CPU an order")

    counted = order_specs(
        data=data, seed=ctx.seed, prefix="count", count=scale.query_count_orders, offset=scale.service_orders
    )
    counts, kinds = _count_statements(data.merchant, counted)
    say(
        f"  SQL statements per 3-line member order: max {max(counts)}, min {min(counts)} over {len(counts)}"
        f" orders (budget {SQL_BUDGET}, BEGIN/COMMIT not counted); heaviest: {statement_kinds(kinds)}"
    )
    return [
        Result("orders.service.throughput", rate, "orders/s", baseline=raw_rate),
        Result("orders.service.cpu_per_order", cpu_ms, "ms"),
        Result("orders.service.sql_per_order", max(counts), "statements", target=at_most(SQL_BUDGET)),
    ]


def _service(merchant, batch: list[OrderSpec]) -> None:
    for spec in batch:
        result = purchase_record(merchant=merchant, order=spec.as_input())
        assert result.created, spec.external_id


def _count_statements(merchant, specs: list[OrderSpec]) -> tuple[list[int], list[str]]:
    """Statements per order as CaptureQueriesContext sees them, less transaction control.

    Django logs BEGIN and COMMIT here, and SAVEPOINT/RELEASE when the same call runs
    inside a test's transaction; leaving them out makes both counts the same.
    """
    counts, heaviest = [], []
    for spec in specs:
        with CaptureQueriesContext(connection) as captured:
            purchase_record(merchant=merchant, order=spec.as_input())
        statements = [q["sql"] for q in captured.captured_queries if not is_transaction_control(q["sql"])]
        counts.append(len(statements))
        if len(statements) >= max(counts):
            heaviest = statements
    return counts, heaviest


def is_transaction_control(sql: str) -> bool:
    return sql.lstrip().split(None, 1)[0].upper() in TRANSACTION_CONTROL


TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}


def statement_kinds(statements: list[str]) -> str:
    kinds = Counter(sql.lstrip().split(None, 1)[0].upper() for sql in statements)
    return ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())


def spans(by_key: dict[str, list[int]]) -> str:
    """``all 12, category 12, products 11-12``: the counts of each kind of request."""
    return ", ".join(
        f"{key} {min(c)}" + (f"-{max(c)}" if max(c) != min(c) else "") for key, c in by_key.items()
    )


# --- The raw-SQL twin -----------------------------------------------------------------


def raw_connection() -> psycopg.Connection:
    """A plain psycopg connection to the database Django uses (the bench or the test one)."""
    params = connection.settings_dict
    return psycopg.connect(
        dbname=params["NAME"],
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        autocommit=True,
    )


INSERT_ORDER = """
INSERT INTO storefront_order
    (merchant_id, shopper_id, external_id, subtotal, discount, total, refunded_amount, points_earned,
     points_reversed, status, paid_at, created_at, payload_hash, response)
VALUES (%s, %s, %s, %s, 0, %s, 0, %s, 0, 'paid', now(), now(), %s, %s)
RETURNING id
"""
INSERT_LINES = """
INSERT INTO storefront_orderline (order_id, product_id, quantity, unit_price, refunded_quantity)
VALUES (%s, %s, %s, %s, 0), (%s, %s, %s, %s, 0), (%s, %s, %s, %s, 0)
"""
INSERT_ENTRY = """
INSERT INTO loyalty_pointsentry (account_id, delta, kind, order_id, reason, expires_at, remaining, created_at)
VALUES (%s, %s, 'earn', %s, %s, now() + interval '365 days', %s, now())
"""
UPDATE_BALANCE = """
UPDATE loyalty_pointsaccount
SET balance = balance + %s, lifetime_earned = lifetime_earned + %s, updated_at = now()
WHERE id = %s
"""


def _raw(conn: psycopg.Connection, merchant_id: int, batch: list[OrderSpec]) -> None:
    with conn.cursor() as cur:
        for spec in batch:
            total = spec.total.quantize(spec.total.__class__("0.01"))
            points = int(total.to_integral_value(rounding=ROUND_FLOOR))
            response = {"external_id": spec.external_id, "total": str(total), "points_earned": points}
            with conn.transaction():
                cur.execute(
                    INSERT_ORDER,
                    (
                        merchant_id,
                        spec.member.shopper_id,
                        spec.external_id,
                        total,
                        total,
                        points,
                        "0" * 64,
                        Jsonb(response),
                    ),
                )
                order_id = cur.fetchone()[0]
                values = [v for _, pid, q, price in spec.lines for v in (order_id, pid, q, price)]
                cur.execute(INSERT_LINES, values)
                cur.execute(
                    INSERT_ENTRY,
                    (spec.member.points_account_id, points, order_id, f"order {spec.external_id}", points),
                )
                cur.execute(UPDATE_BALANCE, (points, points, spec.member.points_account_id))
