"""``POST /api/v1/merchant/coupons/validate``: SQL per request in-process, p50/p99 through HTTP.

The carts (``benchmarks.fixtures.coupons.carts_draw``) are members of the merchant
under test holding a usable coupon from the dataset, a third of each template scope
(all products, a category, listed products), with three lines the coupon applies to.
The dry run writes nothing: the in-process step checks that no statement writes or
locks, and that each sample's coupon applies.
"""

import json

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from benchmarks.cases.orders_service import is_transaction_control, spans
from benchmarks.cases.reads import host_header
from benchmarks.fixtures import Cart
from benchmarks.loadgen import open_loop
from benchmarks.progress import say
from benchmarks.registry import Result, at_most, benchmark, exactly
from benchmarks.server import PROXY_HEADERS

PATH = "/api/v1/merchant/coupons/validate"
P99_TARGET_MS = 20  # issue 5
WARMUP_SECONDS = 1
SAMPLES_PER_SCOPE = 2
# One query authenticates the merchant's key, then: the cart's products by sku, the
# shopper's id, the coupons by code with their templates and, for a template scoped
# to listed products, its product ids (a subquery of the same statement).
SQL_BUDGET = 4
WRITES = ("INSERT", "UPDATE", "DELETE")


@benchmark("coupons.validate.queries", title="Coupon validation: SQL statements per request", repeat=False)
def coupons_validate_queries(ctx) -> list[Result]:
    client = Client(HTTP_HOST=host_header())
    samples = _samples(ctx.data.carts)
    by_scope: dict[str, list[int]] = {}
    for cart in samples:
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                PATH,
                data=json.dumps(cart.as_json()),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Api-Key {ctx.data.api_key}",
                secure=True,
            )
        if response.status_code != 200:
            raise AssertionError(f"POST {PATH}: HTTP {response.status_code} {response.content[:300]!r}")
        if response.json()["applied"] != [cart.coupon_code]:
            raise AssertionError(f"the sample cart's coupon did not apply: {response.json()}")
        statements = [q["sql"] for q in captured.captured_queries if not is_transaction_control(q["sql"])]
        writes = [sql for sql in statements if sql.lstrip().upper().startswith(WRITES) or "FOR UPDATE" in sql]
        if writes:
            raise AssertionError(f"the dry run wrote or locked: {writes}")
        by_scope.setdefault(cart.scope, []).append(len(statements))
    worst = max(n for counts in by_scope.values() for n in counts)
    say(
        f"  statements per request by the coupon's scope: {spans(by_scope)} (budget {SQL_BUDGET});"
        f" {len(samples)} carts, every coupon applied, nothing written or locked"
    )
    return [Result("coupons.validate.sql_per_request", worst, "statements", target=at_most(SQL_BUDGET))]


def _samples(carts: list[Cart]) -> list[Cart]:
    """The first carts of each scope."""
    taken: dict[str, list[Cart]] = {}
    for cart in carts:
        if len(taken.setdefault(cart.scope, [])) < SAMPLES_PER_SCOPE:
            taken[cart.scope].append(cart)
    if not taken:
        raise RuntimeError("no cart to validate: the dataset has no usable coupon of the merchant under test")
    return [cart for group in taken.values() for cart in group]


@benchmark(
    "coupons.validate.http", title="Coupon validation through HTTP (gunicorn, open loop)", needs_server=True
)
def coupons_validate_http(ctx) -> list[Result]:
    server, scale, carts = ctx.server(), ctx.scale, ctx.data.carts
    headers = {**PROXY_HEADERS, "Authorization": f"Api-Key {ctx.data.api_key}"}
    bodies = [cart.as_json() for cart in carts]

    def request(i):
        return ("POST", PATH, bodies[i % len(bodies)], headers)

    warmup = open_loop(port=server.port, rate=scale.http_rate, seconds=WARMUP_SECONDS, request=request)
    say(f"  warm-up  {warmup.summary()}")
    cpu = server.cpu_seconds()
    load = open_loop(port=server.port, rate=scale.http_rate, seconds=scale.read_seconds, request=request)
    say(f"  measured {load.summary()}")
    sound = load.errors == 0
    results = [
        Result("coupons.validate.p50", load.percentile(0.50), "ms", valid=sound),
        Result(
            "coupons.validate.p99", load.percentile(0.99), "ms", target=at_most(P99_TARGET_MS), valid=sound
        ),
        Result("coupons.validate.errors", load.errors, "requests", target=exactly(0)),
    ]
    if cpu is not None:
        cpu_ms = (server.cpu_seconds() - cpu) / load.sent * 1000
        say(f"  gunicorn used {cpu_ms:.1f} ms of CPU a request (master and workers, from /proc)")
        results.append(Result("coupons.validate.server_cpu_per_request", cpu_ms, "ms"))
    return results
