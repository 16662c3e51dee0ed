"""The read endpoints that exist: SQL per request (in-process) and p99 through HTTP.

The query count is taken with Django's test client and ``CaptureQueriesContext`` for
typical shoppers and for a heavy one (a member everywhere, more rows than a page in
every list): the same budget for both is what "constant in the number of rows" means.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from benchmarks.fixtures import Reader
from benchmarks.loadgen import open_loop
from benchmarks.progress import say
from benchmarks.registry import Result, at_most, benchmark, exactly
from benchmarks.server import PROXY_HEADERS

P99_TARGET_MS = 50
TYPICAL_SAMPLES = 5
WARMUP_SECONDS = 1


@dataclass(frozen=True)
class Endpoint:
    key: str
    budget: int  # SQL statements per request, whatever the number of rows
    shopper: bool  # shopper token, else the merchant's API key

    def path(self, reader: Reader, index: int) -> str:
        return PATHS[self.key](reader, index)


MEMBER_FILTERS = ["", "?iron_fan=true", "?tier=Silver"]
PATHS = {
    "wallet": lambda r, i: "/api/v1/me/wallet",
    "frequently_purchased": lambda r, i: "/api/v1/me/frequently-purchased",
    "points_ledger": lambda r, i: f"/api/v1/me/memberships/{r.merchant_slug}/points",
    # The merchant's list as its dashboard asks for it: all members, the iron fans, a tier.
    "merchant_members": lambda r, i: "/api/v1/merchant/members" + MEMBER_FILTERS[i % len(MEMBER_FILTERS)],
    # The shopper app's coupon wallet: what can be used now, across merchants.
    "my_coupons": lambda r, i: "/api/v1/me/coupons?state=usable",
    # The home page: the first page of the feed, and the inbox of pushed products.
    "feed": lambda r, i: "/api/v1/me/feed",
    "inbox": lambda r, i: "/api/v1/me/inbox",
}
# Budgets from the code: one query authenticates the caller, then
# wallet: the cards, the usable-coupon counts;
# frequently purchased: the page, purchase times, repurchase coupons, their product lists;
# merchant members: the tier named by ?tier=, the page;
# points ledger: the merchant, the membership, the page;
# my coupons: the page (with each coupon's template, its category and the merchant joined in);
# feed: the preferences, the ranked page (merchant, category joined in), the usable coupons;
# inbox: the page (product, merchant, category joined in).
ENDPOINTS = [
    Endpoint("wallet", budget=3, shopper=True),
    Endpoint("frequently_purchased", budget=5, shopper=True),
    Endpoint("merchant_members", budget=4, shopper=False),
    Endpoint("points_ledger", budget=4, shopper=True),
    Endpoint("my_coupons", budget=2, shopper=True),
    Endpoint("feed", budget=4, shopper=True),
    Endpoint("inbox", budget=2, shopper=True),
]


def _auth(ctx, endpoint: Endpoint, reader: Reader) -> str:
    return f"Token {reader.token}" if endpoint.shopper else f"Api-Key {ctx.data.api_key}"


@benchmark("reads.queries", title="Read endpoints: SQL statements per request", repeat=False)
def reads_queries(ctx) -> list[Result]:
    client = Client(HTTP_HOST=host_header())
    results = []
    for endpoint in ENDPOINTS:
        typical = [
            _count(ctx, client, endpoint, r, i) for i, r in enumerate(ctx.data.readers[:TYPICAL_SAMPLES])
        ]
        heavy = [_count(ctx, client, endpoint, ctx.data.heavy, i) for i in range(len(MEMBER_FILTERS))]
        worst = max(typical + heavy)
        say(
            f"  {endpoint.key:<22} typical shoppers {_span(typical)}, heavy shopper {_span(heavy)}"
            f" statements (budget {endpoint.budget})"
        )
        results.append(
            Result(
                f"reads.{endpoint.key}.sql_per_request", worst, "statements", target=at_most(endpoint.budget)
            )
        )
    return results


def host_header() -> str:
    hosts = settings.ALLOWED_HOSTS
    return "testserver" if "testserver" in hosts or not hosts else hosts[0]


def _count(ctx, client: Client, endpoint: Endpoint, reader: Reader, index: int) -> int:
    path = endpoint.path(reader, index)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, HTTP_AUTHORIZATION=_auth(ctx, endpoint, reader), secure=True)
    if response.status_code != 200:
        raise AssertionError(f"GET {path}: HTTP {response.status_code} {response.content[:300]!r}")
    return len(captured)


def _span(counts: list[int]) -> str:
    return str(counts[0]) if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"


@benchmark("reads.http", title="Read endpoints through HTTP (gunicorn, open loop)", needs_server=True)
def reads_http(ctx) -> list[Result]:
    server, scale = ctx.server(), ctx.scale
    readers = [*ctx.data.readers, ctx.data.heavy]
    results, errors = [], 0
    for endpoint in ENDPOINTS:

        def request(i, endpoint=endpoint):
            reader = readers[i % len(readers)]
            headers = {**PROXY_HEADERS, "Authorization": _auth(ctx, endpoint, reader)}
            return ("GET", endpoint.path(reader, i), None, headers)

        open_loop(port=server.port, rate=scale.http_rate, seconds=WARMUP_SECONDS, request=request)
        cpu = server.cpu_seconds()
        load = open_loop(port=server.port, rate=scale.http_rate, seconds=scale.read_seconds, request=request)
        cpu_note = ""
        if cpu is not None:
            cpu_note = f"; gunicorn CPU {(server.cpu_seconds() - cpu) / load.sent * 1000:.1f} ms a request"
        say(f"  {endpoint.key:<22} {load.summary()}{cpu_note}")
        errors += load.errors
        results.append(
            Result(
                f"reads.{endpoint.key}.p99",
                load.percentile(0.99),
                "ms",
                target=at_most(P99_TARGET_MS),
                valid=load.errors == 0,
            )
        )
    results.append(Result("reads.http.errors", errors, "requests", target=exactly(0)))
    return results
