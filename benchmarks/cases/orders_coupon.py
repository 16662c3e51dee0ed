"""A member's first order redeeming a coupon and earning the repurchase coupon, beside raw SQL.

The path of issue 5 at its heaviest: a 3-line order by a member who has never
ordered, with one coupon of theirs (the merchant's templates in turn: all products,
a category, listed products), while the merchant's program has a repurchase
template (``repurchase_delay_days`` 0), so the order also issues a coupon at once.
The orders go through ``purchase_record`` one after the other; the newcomers who
place them were made for this run (``benchmarks.fixtures.coupons.newcomers_make``).
The program is set for this benchmark only and put back after it, so the other order
benchmarks keep measuring orders that issue nothing.

The raw twin writes the same rows with a plain psycopg connection, one transaction
per order: the order, its lines, the coupon marked redeemed, the new coupon, the
earn entry and the balance (with ``first_order_at``), six statements with every id
known and nothing checked. The project also finds and locks the member, reads the
products, locks and checks the coupon, claims the template's stock, keeps the
per-member limit, handles tiers and keeps the frequently-purchased statistics.
"""

import math
import os
import time
from decimal import ROUND_FLOOR, Decimal

import psycopg
from django.db import connection
from django.test.utils import CaptureQueriesContext
from psycopg.types.json import Jsonb

from benchmarks.cases.orders_service import (
    INSERT_LINES,
    is_transaction_control,
    raw_connection,
    spans,
    statement_kinds,
)
from benchmarks.dataset import REPURCHASE_TEMPLATE
from benchmarks.payloads import OrderSpec, coupon_order_specs
from benchmarks.progress import Progress, say
from benchmarks.registry import Result, at_most, benchmark
from coupons.models import CouponTemplate
from coupons.services.issuing import coupon_code_new
from loyalty.models import Program
from loyalty.services.program import program_update
from loyalty.services.purchases import purchase_record

SQL_BUDGET = 12  # issue 5: redeeming one coupon and issuing the repurchase coupon, within 12
ROUNDS = 10


@benchmark("orders.coupon", title="First order redeeming a coupon and issuing a repurchase coupon")
def orders_coupon(ctx) -> list[Result]:
    data, scale = ctx.data, ctx.scale
    n, counted_n = scale.coupon_orders, scale.query_count_orders
    if len(data.newcomers) < 2 * n + counted_n:
        raise RuntimeError(
            f"the fixtures made {len(data.newcomers)} newcomers; this needs {2 * n + counted_n}"
        )
    template = CouponTemplate.objects.get(merchant=data.merchant, name=REPURCHASE_TEMPLATE)
    specs = {
        name: coupon_order_specs(data=data, seed=ctx.seed, prefix=prefix, newcomers=part)
        for name, prefix, part in [
            ("project", "cpn", data.newcomers[:n]),
            ("raw", "cpn-raw", data.newcomers[n : 2 * n]),
            ("counted", "cpn-count", data.newcomers[2 * n : 2 * n + counted_n]),
        ]
    }
    with repurchase_program(merchant=data.merchant, template=template):
        done, spent = _throughput(ctx, specs["project"], specs["raw"], template)
        counts, heaviest = _count_statements(data.merchant, specs["counted"])
    scopes = [data.coverage[n.template_id].scope for n in data.newcomers[2 * n : 2 * n + counted_n]]
    rate, raw_rate = done / spent["project"], done / spent["raw"]
    cpu_ms = spent["cpu"] / done * 1000
    say(f"  project  purchase_record      {done:>6} orders in {spent['project']:6.2f}s  {rate:8.1f} orders/s")
    say(f"  raw SQL  6 statements, 1 txn  {done:>6} orders in {spent['raw']:6.2f}s  {raw_rate:8.1f} orders/s")
    say(f"  ratio    {rate / raw_rate:.2f}x of raw; the service used {cpu_ms:.1f} ms of Python CPU an order")
    by_scope: dict[str, list[int]] = {}
    for scope, count in zip(scopes, counts, strict=True):
        by_scope.setdefault(scope, []).append(count)
    say(
        f"  SQL statements per first order with a coupon, by the coupon's scope: {spans(by_scope)}"
        f" over {len(counts)} orders (budget {SQL_BUDGET}, BEGIN/COMMIT not counted);"
        f" heaviest: {statement_kinds(heaviest)}"
    )
    if os.environ.get("BENCH_SHOW_STATEMENTS"):
        say("\n".join(f"    {i + 1:>2}. {sql[:160]}" for i, sql in enumerate(heaviest)))
    return [
        Result("orders.coupon.throughput", rate, "orders/s", baseline=raw_rate),
        Result("orders.coupon.cpu_per_order", cpu_ms, "ms"),
        Result("orders.coupon.sql_per_order", max(counts), "statements", target=at_most(SQL_BUDGET)),
    ]


class repurchase_program:
    """The merchant's program issues ``template`` at once on a first order, for the ``with`` only."""

    def __init__(self, *, merchant, template: CouponTemplate):
        self.merchant, self.template = merchant, template

    def __enter__(self):
        program = Program.objects.get(merchant=self.merchant)
        self.before = {
            "repurchase_template": program.repurchase_template_id,
            "repurchase_delay_days": program.repurchase_delay_days,
        }
        program_update(merchant=self.merchant, repurchase_template=self.template.pk, repurchase_delay_days=0)
        return self

    def __exit__(self, *exc) -> None:
        program_update(merchant=self.merchant, **self.before)


def _throughput(ctx, project: list[OrderSpec], raw: list[OrderSpec], template) -> tuple[int, dict]:
    size = max(1, math.ceil(len(project) / ROUNDS))
    spent = {"project": 0.0, "raw": 0.0, "cpu": 0.0}
    done = 0
    deadline = time.monotonic() + ctx.scale.time_limit
    with raw_connection() as conn, Progress("orders (each side)", len(project), unit="orders") as bar:
        for start in range(0, len(project), size):
            if time.monotonic() > deadline:
                say(f"  stopped at the {ctx.scale.time_limit:.0f}s limit after {done} orders a side")
                break
            batch = slice(start, start + size)
            cpu, wall = time.process_time(), time.perf_counter()
            for spec in project[batch]:
                _check(spec, purchase_record(merchant=ctx.data.merchant, order=spec.as_input()))
            spent["project"] += time.perf_counter() - wall
            spent["cpu"] += time.process_time() - cpu
            wall = time.perf_counter()
            _raw(conn, ctx.data.merchant.pk, template, raw[batch])
            spent["raw"] += time.perf_counter() - wall
            done += len(project[batch])
            bar.advance(len(project[batch]))
    return done, spent


def _check(spec: OrderSpec, result) -> None:
    """Each order took the path measured: accepted, its coupon redeemed, a repurchase coupon issued."""
    response = result.response
    if not (
        result.created
        and response["coupons_redeemed"] == list(spec.coupon_codes)
        and len(response["coupons_issued"]) == 1
    ):
        raise AssertionError(f"{spec.external_id} did not redeem one coupon and issue one: {response}")


def _count_statements(merchant, specs: list[OrderSpec]) -> tuple[list[int], list[str]]:
    """Statements per order as CaptureQueriesContext sees them, less transaction control."""
    counts, heaviest = [], []
    for spec in specs:
        with CaptureQueriesContext(connection) as captured:
            result = purchase_record(merchant=merchant, order=spec.as_input())
        _check(spec, result)
        statements = [q["sql"] for q in captured.captured_queries if not is_transaction_control(q["sql"])]
        counts.append(len(statements))
        if len(statements) >= max(counts):
            heaviest = statements
    return counts, heaviest


# --- The raw-SQL twin -----------------------------------------------------------------

INSERT_ORDER = """
INSERT INTO storefront_order
    (merchant_id, shopper_id, external_id, subtotal, discount, total, refunded_amount, points_earned,
     points_reversed, status, paid_at, created_at, payload_hash, response)
VALUES (%s, %s, %s, %s, %s, %s, 0, %s, 0, 'paid', now(), now(), %s, %s)
RETURNING id
"""
REDEEM_COUPON = """
UPDATE coupons_coupon SET state = 'redeemed', order_id = %s, redeemed_at = now() WHERE code = %s
"""
ISSUE_COUPON = """
INSERT INTO coupons_coupon (template_id, merchant_id, shopper_id, code, state, source, issued_at, expires_at)
VALUES (%s, %s, %s, %s, 'issued', 'repurchase', now(), now() + %s * interval '1 day')
"""
INSERT_ENTRY = """
INSERT INTO loyalty_pointsentry (account_id, delta, kind, order_id, reason, expires_at, remaining, created_at)
VALUES (%s, %s, 'earn', %s, %s, now() + interval '365 days', %s, now())
"""
UPDATE_BALANCE = """
UPDATE loyalty_pointsaccount
SET balance = balance + %s, lifetime_earned = lifetime_earned + %s, first_order_at = now(), updated_at = now()
WHERE id = %s
"""
DISCOUNT = Decimal(5)  # written as given: the twin computes nothing


def _raw(conn: psycopg.Connection, merchant_id: int, template, batch: list[OrderSpec]) -> None:
    with conn.cursor() as cur:
        for spec in batch:
            subtotal = spec.total.quantize(Decimal("0.01"))
            total = subtotal - DISCOUNT
            points = int(total.to_integral_value(rounding=ROUND_FLOOR))
            code = coupon_code_new()
            response = {
                "external_id": spec.external_id,
                "total": str(total),
                "points_earned": points,
                "coupons_redeemed": list(spec.coupon_codes),
                "coupons_issued": [{"code": code}],
            }
            account = spec.member.points_account_id
            with conn.transaction():
                cur.execute(
                    INSERT_ORDER,
                    (merchant_id, spec.member.shopper_id, spec.external_id, subtotal, DISCOUNT, total, points,
                     "0" * 64, Jsonb(response)),
                )  # fmt: skip
                order_id = cur.fetchone()[0]
                values = [v for _, pid, q, price in spec.lines for v in (order_id, pid, q, price)]
                cur.execute(INSERT_LINES, values)
                cur.execute(REDEEM_COUPON, (order_id, spec.coupon_codes[0]))
                cur.execute(
                    ISSUE_COUPON,
                    (template.pk, merchant_id, spec.member.shopper_id, code, template.valid_days),
                )
                cur.execute(INSERT_ENTRY, (account, points, order_id, f"order {spec.external_id}", points))
                cur.execute(UPDATE_BALANCE, (points, points, account))
