"""CPU per request of one endpoint through the whole Django stack in this process, and
optionally its CPU profile: the figure to compare before and after a change to a hot path,
steadier on a shared machine than wall-clock latency (CPU time moves little with load).

    python -m benchmarks.inprocess orders [--requests 200] [--profile]
    python -m benchmarks.inprocess validate
    python -m benchmarks.inprocess read wallet        # any endpoint of benchmarks.cases.reads.ENDPOINTS

Production settings (``DEBUG`` off) on a dataset already built by ``make bench`` (``--db-name``,
``fanbase_small_bench`` unless given; ``--scale`` as it was built, for the fixtures). Prints
the CPU (``time.process_time``) per request of three batches and their median; ``orders``
records new orders for existing members each time it runs.
"""

import argparse
import cProfile
import json
import os
import pstats
import secrets
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inprocess")
    parser.add_argument("what", choices=["orders", "validate", "read"])
    parser.add_argument("endpoint", nargs="?", help="with `read`: a key of benchmarks.cases.reads.ENDPOINTS")
    parser.add_argument("--db-name", default="fanbase_small_bench")
    parser.add_argument("--scale", default="small")
    parser.add_argument("--requests", type=int, default=200, help="per batch (3 batches)")
    parser.add_argument("--profile", action="store_true", help="then profile one more batch (cProfile)")
    args = parser.parse_args(argv)

    from benchmarks import database

    os.environ.update(
        DJANGO_SETTINGS_MODULE="loyalty.settings",
        DATABASE_URL=database.bench_database_url(name=args.db_name),
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("SECRET_KEY", f"bench-{secrets.token_urlsafe(32)}")
    import django

    django.setup()
    call = _request_maker(args)
    for _ in range(30):  # warm: connections, caches, first compiles
        call()
    batches = []
    for _ in range(3):
        started = time.process_time()
        for _ in range(args.requests):
            call()
        batches.append((time.process_time() - started) / args.requests * 1000)
    label = args.what + (f" {args.endpoint}" if args.endpoint else "")
    print(
        f"{label}: CPU per request {statistics.median(batches):.2f} ms"
        f" (batches {', '.join(f'{b:.2f}' for b in batches)}; {args.requests} requests each)"
    )
    if args.profile:
        # CPU time, as the figure above: time spent waiting on PostgreSQL is not the
        # process's cost (and the wall clock would hide the CPU behind it).
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for _ in range(args.requests):
            call()
        profile.disable()
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(40)


def _request_maker(args):
    from django.test import Client

    from benchmarks.cases.reads import ENDPOINTS
    from benchmarks.fixtures import fixtures_prepare
    from benchmarks.payloads import order_specs
    from benchmarks.scales import SCALES

    data = fixtures_prepare(scale=SCALES[args.scale], seed=42)
    client = Client(HTTP_HOST="127.0.0.1")
    key = {"HTTP_AUTHORIZATION": f"Api-Key {data.api_key}", "secure": True}

    def checked(response, status: int):
        if response.status_code != status:
            raise SystemExit(f"HTTP {response.status_code}: {response.content[:300]!r}")

    if args.what == "orders":
        count = 30 + args.requests * (4 if args.profile else 3)
        specs = iter(order_specs(data=data, seed=42, prefix=f"inprocess-{time.time_ns()}-", count=count))

        def order():
            body = json.dumps(next(specs).as_json())
            checked(client.post("/api/v1/merchant/orders", body, content_type="application/json", **key), 201)

        return order
    if args.what == "validate":
        bodies = [json.dumps(cart.as_json()) for cart in data.carts]
        turn = iter(range(sys.maxsize))

        def validate():
            body = bodies[next(turn) % len(bodies)]
            path = "/api/v1/merchant/coupons/validate"
            checked(client.post(path, body, content_type="application/json", **key), 200)

        return validate
    endpoints = {endpoint.key: endpoint for endpoint in ENDPOINTS}
    if args.endpoint not in endpoints:
        raise SystemExit(f"read: one of {', '.join(endpoints)}")
    endpoint = endpoints[args.endpoint]
    readers = [data.feed] if endpoint.reader == "feed" else [*data.readers, data.heavy]
    turn = iter(range(sys.maxsize))

    def read():
        index = next(turn)
        reader = readers[index % len(readers)]
        auth = {"HTTP_AUTHORIZATION": f"Token {reader.token}", "secure": True} if endpoint.shopper else key
        checked(client.get(endpoint.path(reader, index), **auth), 200)

    return read


if __name__ == "__main__":
    main()
