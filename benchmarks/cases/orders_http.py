"""Order ingestion through HTTP: POST /api/v1/merchant/orders on gunicorn at a fixed rate,
then the knee: the highest rate of a rising sweep whose p99 stays within 100 ms.

The sweep offers ``KNEE_RATES`` in turn, ``KNEE_SECONDS`` each (fresh orders every
step), and stops at the first step that misses (p99 over ``KNEE_P99_MS`` or any
error): the knee is the last rate that held. Bounded: at most the sum of the steps.

Beside the order's CPU, a floor measured on the same server in the same round: the
CPU of a request to a path that does not exist (``FLOOR_PATH``: every middleware, the
URL resolver and a 404 in the error shape, no view and no database), the floor any API
request pays on this machine. Machines of the same kind differ by half in speed; the
order's CPU less the floor is what the order's own path costs.
"""

from benchmarks.loadgen import open_loop
from benchmarks.payloads import order_specs
from benchmarks.progress import say
from benchmarks.registry import Result, at_least, at_most, benchmark, exactly
from benchmarks.server import PROXY_HEADERS

PATH = "/api/v1/merchant/orders"
P99_TARGET_MS = 50
CPU_TARGET_MS = 4  # issue 14: gunicorn's CPU per order
WARMUP_REQUESTS = 20
FLOOR_PATH = "/api/v1/merchant/no-such-resource"
FLOOR_SECONDS = 3
KNEE_P99_MS = 100
KNEE_RATES = (25, 50, 75, 100, 150, 200, 300, 400)
KNEE_SECONDS = 4


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
    server.wait_idle()
    sound = load.errors == 0
    results = [
        Result("orders.http.p50", load.percentile(0.50), "ms", valid=sound),
        Result("orders.http.p99", load.percentile(0.99), "ms", target=at_most(P99_TARGET_MS), valid=sound),
        Result("orders.http.errors", load.errors, "requests", target=exactly(0)),
    ]
    if cpu is not None:
        cpu_ms = (server.cpu_seconds() - cpu) / load.sent * 1000
        say(f"  gunicorn used {cpu_ms:.1f} ms of CPU a request (master and workers, from /proc)")
        cpu_target = at_most(CPU_TARGET_MS)
        results.append(Result("orders.http.server_cpu_per_request", cpu_ms, "ms", target=cpu_target))
        results.append(_floor(ctx, server, headers))
    results.append(_knee(ctx, server, headers))
    return results


def _floor(ctx, server, headers) -> Result:
    """gunicorn's CPU per request of a 404 (``FLOOR_PATH``): the stack's floor."""
    cpu = server.cpu_seconds()
    step = open_loop(
        port=server.port, rate=ctx.scale.http_rate, seconds=FLOOR_SECONDS,
        request=lambda i: ("GET", FLOOR_PATH, None, headers),
    )  # fmt: skip
    server.wait_idle()
    cpu_ms = (server.cpu_seconds() - cpu) / step.sent * 1000
    answers = dict(step.statuses)
    say(f"  floor    {step.sent} requests of a 404 ({answers}): gunicorn used {cpu_ms:.2f} ms of CPU each")
    sound = set(step.statuses) == {404}  # every request answered, with the 404 it asks for
    return Result("orders.http.floor_cpu_per_request", cpu_ms, "ms", valid=sound)


def _knee(ctx, server, headers) -> Result:
    """The highest rate of ``KNEE_RATES`` (orders/s) at which p99 stays within ``KNEE_P99_MS``."""
    knee, offset = 0, WARMUP_REQUESTS + int(ctx.scale.http_rate * ctx.scale.http_seconds)
    for rate in KNEE_RATES:
        count = int(rate * KNEE_SECONDS)
        specs = order_specs(data=ctx.data, seed=ctx.seed, prefix=f"knee{rate}", count=count, offset=offset)
        offset += count
        step = open_loop(
            port=server.port, rate=rate, seconds=KNEE_SECONDS,
            request=lambda i, specs=specs: ("POST", PATH, specs[i].as_json(), headers),
        )  # fmt: skip
        held = step.errors == 0 and step.percentile(0.99) <= KNEE_P99_MS
        server.wait_idle()
        say(f"  knee {rate:>4}/s  {step.summary()}  {'held' if held else 'missed'}")
        if not held:
            break
        knee = rate
    # The knee should be at least the rate at which p99 must hold 50 ms.
    return Result("orders.http.knee", knee, "orders/s", target=at_least(ctx.scale.http_rate))
