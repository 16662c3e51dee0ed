"""Order ingestion through HTTP: POST /api/v1/merchant/orders on gunicorn at a fixed rate."""

from benchmarks.loadgen import open_loop
from benchmarks.payloads import order_specs
from benchmarks.progress import say
from benchmarks.registry import Result, at_most, benchmark, exactly
from benchmarks.server import PROXY_HEADERS

PATH = "/api/v1/merchant/orders"
P99_TARGET_MS = 50
WARMUP_REQUESTS = 20


@benchmark("orders.http", title="Order ingestion through HTTP (gunicorn, open loop)", needs_server=True)
def orders_http(ctx) -> list[Result]:
    data, scale = ctx.data, ctx.scale
    server = ctx.server()
    headers = {**PROXY_HEADERS, "Authorization": f"Api-Key {data.api_key}"}
    count = int(scale.http_rate * scale.http_seconds)
    warm = order_specs(data=data, seed=ctx.seed, prefix="http-warm", count=WARMUP_REQUESTS)
    specs = order_specs(data=data, seed=ctx.seed, prefix="http", count=count, offset=WARMUP_REQUESTS)

    warmup = open_loop(
        port=server.port, rate=20, seconds=WARMUP_REQUESTS / 20,
        request=lambda i: ("POST", PATH, warm[i].as_json(), headers),
    )  # fmt: skip
    say(f"  warm-up  {warmup.summary()}")
    cpu = server.cpu_seconds()
    load = open_loop(
        port=server.port, rate=scale.http_rate, seconds=scale.http_seconds,
        request=lambda i: ("POST", PATH, specs[i].as_json(), headers),
    )  # fmt: skip
    say(f"  measured {load.summary()}")
    say(f"  statuses {dict(load.statuses)}")
    sound = load.errors == 0
    results = [
        Result("orders.http.p50", load.percentile(0.50), "ms", valid=sound),
        Result("orders.http.p99", load.percentile(0.99), "ms", target=at_most(P99_TARGET_MS), valid=sound),
        Result("orders.http.errors", load.errors, "requests", target=exactly(0)),
    ]
    if cpu is not None:
        cpu_ms = (server.cpu_seconds() - cpu) / load.sent * 1000
        say(f"  gunicorn used {cpu_ms:.1f} ms of CPU a request (master and workers, from /proc)")
        results.append(Result("orders.http.server_cpu_per_request", cpu_ms, "ms"))
    return results
