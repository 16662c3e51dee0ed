"""The read endpoints that exist: SQL per request (in-process) and p99 through HTTP.

The query count is taken with Django's test client and ``CaptureQueriesContext`` for
typical shoppers and for a heavy one (a member everywhere, more rows than a page in
every list): the same budget for both is what "constant in the number of rows" means.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from benchmarks.fixtures import Reader
from benchmarks.loadgen import open_loop
from benchmarks.progress import say
from benchmarks.registry import Result, at_most, benchmark, exactly
from benchmarks.server import IDLE_SAMPLE, PROXY_HEADERS

P99_TARGET_MS = 20  # issue 14: every read endpoint
LIST_P99_TARGET_MS = 50  # issue 14: the member list at 1M memberships; issue 13: the 500-account feed
TYPICAL_SAMPLES = 5
WARMUP_SECONDS = 1


@dataclass(frozen=True)
class Endpoint:
    key: str
    budget: int  # SQL statements per request, whatever the number of rows
    shopper: bool  # shopper token, else the merchant's API key
    target_ms: float = P99_TARGET_MS
    reader: str | None = None  # "feed": only the shopper following 500 accounts
    later_pages: bool = False  # rotate through the first page and the one after it

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
    # Issue 13: the feed of a shopper following 500 accounts of every merchant (100k products).
    "feed_500_accounts": lambda r, i: "/api/v1/me/feed",
    # Issue 11: the merchant's accounts with their fans, iron fans and ratio (1M follows).
    "accounts": lambda r, i: "/api/v1/merchant/accounts",
}
# Budgets from the code: one query authenticates the caller, then
# wallet: the cards (iron-fan flag on the membership; the points expiring soon and the
# usable-coupon count as subqueries);
# frequently purchased: the page (a ?merchant= a subquery in it), purchase times, the usable
# coupons with their product lists;
# merchant members: the tier named by ?tier=, the page (iron-fan flag on the membership);
# points ledger: the page (merchant and membership in its account subquery), and on an empty
# page only the lookup that tells its 404s from an empty ledger;
# my coupons: the page (with each coupon's template, its category and the merchant joined in);
# feed: the preferences, the ranked page (its merchants read in it, merchant and category
# joined in), the usable coupons;
# inbox: the page (product, merchant, category joined in);
# accounts (the merchant's): the page with each account's fans and iron fans (subqueries).
ENDPOINTS = [
    Endpoint("wallet", budget=2, shopper=True),
    Endpoint("frequently_purchased", budget=4, shopper=True),
    Endpoint("merchant_members", budget=3, shopper=False, target_ms=LIST_P99_TARGET_MS, later_pages=True),
    Endpoint("points_ledger", budget=3, shopper=True),
    Endpoint("my_coupons", budget=2, shopper=True),
    Endpoint("feed", budget=4, shopper=True),
    Endpoint("inbox", budget=2, shopper=True),
    Endpoint("accounts", budget=2, shopper=False),
    Endpoint(
        "feed_500_accounts",
        budget=4,
        shopper=True,
        target_ms=LIST_P99_TARGET_MS,
        reader="feed",
        later_pages=True,
    ),
]


def _readers(ctx, endpoint: Endpoint) -> list[Reader]:
    if endpoint.reader == "feed":
        feed = getattr(ctx.data, "feed", None)
        return [feed] if feed is not None else []
    return [*ctx.data.readers, ctx.data.heavy]


def _paths(ctx, client: Client, endpoint: Endpoint, reader: Reader) -> list[str]:
    """The endpoint's paths for ``reader``: each first page and, with ``later_pages``, the
    page after it (its ``next`` link, read once in-process)."""
    firsts = [endpoint.path(reader, i) for i in range(len(MEMBER_FILTERS))]
    firsts = list(dict.fromkeys(firsts))
    if not endpoint.later_pages:
        return firsts
    paths = []
    for first in firsts:
        paths.append(first)
        response = client.get(first, HTTP_AUTHORIZATION=_auth(ctx, endpoint, reader), secure=True)
        following = response.json().get("next") if response.status_code == 200 else None
        if following:
            parts = urlsplit(following)
            paths.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return paths


def _auth(ctx, endpoint: Endpoint, reader: Reader) -> str:
    return f"Token {reader.token}" if endpoint.shopper else f"Api-Key {ctx.data.api_key}"


@benchmark("reads.queries", title="Read endpoints: SQL statements per request", repeat=False)
def reads_queries(ctx) -> list[Result]:
    client = Client(HTTP_HOST=host_header())
    results = []
    for endpoint in ENDPOINTS:
        readers = _readers(ctx, endpoint)
        if not readers:
            say(f"  {endpoint.key:<22} skipped: this run has no such shopper")
            continue
        typical = [
            _count(ctx, client, endpoint, r, path)
            for r in (readers[:-1][:TYPICAL_SAMPLES] or readers)
            for path in _paths(ctx, client, endpoint, r)
        ]
        heavy = [
            _count(ctx, client, endpoint, readers[-1], path)
            for path in _paths(ctx, client, endpoint, readers[-1])
        ]
        worst = max(typical + heavy)
        pages = "; first and later pages" if endpoint.later_pages else ""
        say(
            f"  {endpoint.key:<22} typical shoppers {_span(typical)}, heavy shopper {_span(heavy)}"
            f" statements (budget {endpoint.budget}{pages})"
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


def _count(ctx, client: Client, endpoint: Endpoint, reader: Reader, path: str) -> int:
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
    client = Client(HTTP_HOST=host_header())
    results, errors = [], 0
    for endpoint in ENDPOINTS:
        readers = _readers(ctx, endpoint)
        if not readers:
            continue
        paths = {r.external_id: _paths(ctx, client, endpoint, r) for r in readers}

        def request(i, endpoint=endpoint, readers=readers, paths=paths):
            reader = readers[i % len(readers)]
            mine = paths[reader.external_id]
            headers = {**PROXY_HEADERS, "Authorization": _auth(ctx, endpoint, reader)}
            return ("GET", mine[(i // len(readers)) % len(mine)], None, headers)

        open_loop(port=server.port, rate=scale.http_rate, seconds=WARMUP_SECONDS, request=request)
        server.wait_idle()
        cpu = server.cpu_seconds()
        load = open_loop(port=server.port, rate=scale.http_rate, seconds=scale.read_seconds, request=request)
        waited = server.wait_idle()  # what the load left queued is its own work, not the next endpoint's
        cpu_note = ""
        if cpu is not None:
            cpu_note = f"; gunicorn CPU {(server.cpu_seconds() - cpu) / load.sent * 1000:.1f} ms a request"
        if waited > 2 * IDLE_SAMPLE:
            cpu_note += f"; {waited:.0f}s for the server to work off its queue"
        say(f"  {endpoint.key:<22} {load.summary()}{cpu_note}")
        errors += load.errors
        results.append(
            Result(
                f"reads.{endpoint.key}.p99",
                load.percentile(0.99),
                "ms",
                target=at_most(endpoint.target_ms),
                valid=load.errors == 0,
            )
        )
    results.append(Result("reads.http.errors", errors, "requests", target=exactly(0)))
    return results
