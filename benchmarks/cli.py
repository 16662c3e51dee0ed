"""``python -m benchmarks``: build the dataset, run every benchmark, print and save the table.

Steps: (re)create the benchmark database and migrate it; generate the dataset
(skipped with ``--reuse-data`` when the database already holds the same scale and
seed); prepare the run's fixtures; run the registered benchmarks; print the table,
compare with ``--compare PATH`` and write ``benchmarks/results/latest.json``.
Exit status: 0 when the harness ran (whatever the figures; ``--strict`` also fails
on a missed target), 1 when a benchmark broke, 2 on bad usage.
"""

import argparse
import dataclasses
import os
import secrets
import sys
import time
from pathlib import Path

from benchmarks import database
from benchmarks.progress import say, timed
from benchmarks.scales import SCALES

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="default")
    parser.add_argument("--seed", type=int, default=42, help="the dataset's and the payloads' seed (42)")
    parser.add_argument("--db-name", default=database.DEFAULT_NAME, help="benchmark database (dropped!)")
    parser.add_argument(
        "--reuse-data", action="store_true", help="keep the database if it holds this scale and seed"
    )
    parser.add_argument("--only", nargs="+", metavar="PREFIX", help="run the benchmarks whose name starts so")
    parser.add_argument("--no-http", action="store_true", help="skip the benchmarks that need gunicorn")
    parser.add_argument(
        "--compare", type=Path, metavar="PATH", help="an earlier results file to compare with"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS / "latest.json", help="where to write the results"
    )
    parser.add_argument("--http-rate", type=int, metavar="N", help="requests/s of the HTTP benchmarks (100)")
    parser.add_argument(
        "--repeat",
        type=int,
        metavar="N",
        help="rounds of each throughput/latency benchmark; the median is reported (3; 1 at tiny)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    scale = SCALES[args.scale]
    if args.http_rate:
        scale = dataclasses.replace(scale, http_rate=args.http_rate)
    if args.repeat is not None:
        if args.repeat < 1:
            raise SystemExit("--repeat: at least 1")
        scale = dataclasses.replace(scale, repeat=args.repeat)
    started = time.perf_counter()
    url = database.bench_database_url(name=args.db_name)
    previous = _load_previous(args.compare)
    say(
        f"Fanbase benchmarks: scale {scale.name}, seed {args.seed}, {os.cpu_count()} CPUs, database {url},"
        f" {scale.repeat} round(s) of each benchmark"
    )
    _say_load("at start", flag=True)

    reuse = args.reuse_data and database.dataset_marker(url) == (
        scale.name,
        args.seed,
        database.DATASET_VERSION,
    )
    if not reuse:
        with timed("create database"):
            database.database_recreate(url)
    env = _configure_environment(url)

    import django

    django.setup()
    from django.core.management import call_command

    from benchmarks import cases, registry, report
    from benchmarks.context import Context
    from benchmarks.dataset import dataset_build
    from benchmarks.fixtures import fixtures_prepare
    from benchmarks.server import Server

    with timed("migrate"):
        call_command("migrate", verbosity=0, interactive=False)
    if reuse:
        say(f"Dataset: reusing {scale.name} (seed {args.seed}) already in {args.db_name}")
    else:
        say(f"Dataset: {scale.name} (seed {args.seed})")
        dataset_build(scale=scale, seed=args.seed)
        database.dataset_mark(url, scale=scale.name, seed=args.seed)
    data = fixtures_prepare(scale=scale, seed=args.seed)

    def server_factory() -> Server:
        return Server(env=env, log_path=RESULTS / "gunicorn.log", cwd=ROOT)

    cases.load()
    ctx = Context(scale=scale, seed=args.seed, data=data, server_factory=server_factory, repeat=scale.repeat)
    try:
        outcome = registry.run_all(ctx, only=args.only, with_server=not args.no_http)
    finally:
        ctx.close()

    report.table_print(outcome.results, outcome.skipped, outcome.errors)
    _say_load("at the end (this run's own load included)", flag=False)
    if previous is not None:
        report.compare_print(outcome.results, previous, str(args.compare))
    report.results_write(outcome.results, args.output)
    say(f"Total {time.perf_counter() - started:.0f}s")
    missed = any(r.passed is False for r in outcome.results)
    sys.exit(1 if outcome.errors or (args.strict and missed) else 0)


def _say_load(when: str, *, flag: bool) -> None:
    """Other work on the machine moves wall-clock figures (counts and CPU far less): say how much."""
    one, five, _ = os.getloadavg()
    busy = flag and one > 0.5 * (os.cpu_count() or 1)
    say(f"Load average {when}: {one:.2f} (1 min), {five:.2f} (5 min)" + ("  BUSY MACHINE" if busy else ""))


def _load_previous(path: Path | None):
    if path is None:
        return None
    from benchmarks.report import results_load

    try:
        return results_load(path)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"--compare {path}: {exc}") from None


def _configure_environment(url: str) -> dict[str, str]:
    """Production settings on the benchmark database, for this process and for gunicorn."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "loyalty.settings"
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "0"
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1"
    os.environ.setdefault("SECRET_KEY", f"bench-{secrets.token_urlsafe(32)}")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    return dict(os.environ)
