"""The benchmark harness (``python -m benchmarks``) at tiny scale, without its HTTP server.

A smoke test: the dataset builds, every in-process benchmark runs and reports, the
results file has the agreed shape, unbuilt features are skipped out loud. The
figures themselves are not checked here.
"""

import json

import pytest

from benchmarks import cases, registry, report
from benchmarks.context import Context
from benchmarks.dataset import dataset_build
from benchmarks.fixtures import fixtures_next_round, fixtures_prepare
from benchmarks.registry import Result, at_most, ratio_at_least
from benchmarks.scales import SCALES
from loyalty.models import Program
from tests.conftest import requires_postgres

RESULT_KEYS = {"name", "value", "unit", "baseline", "ratio", "target", "passed", "rounds", "spread", "load"}


@requires_postgres
def test_tiny_scale_runs_every_in_process_benchmark_and_writes_its_results(
    transactional_db, tmp_path, capsys
):
    # Given the tiny dataset and the run's fixtures (transactional: the raw-SQL twin has its own connection)
    scale = SCALES["tiny"]
    dataset_build(scale=scale, seed=42)
    data = fixtures_prepare(scale=scale, seed=42)
    cases.load()

    # When every benchmark that needs no server runs
    outcome = registry.run_all(Context(scale=scale, seed=42, data=data), with_server=False)
    report.results_write(outcome.results, tmp_path / "latest.json")

    # Then nothing broke, each path reported, and the file has the agreed shape
    assert outcome.errors == []
    by_name = {r.name: r for r in outcome.results}
    assert {
        "orders.service.throughput",
        "orders.service.sql_per_order",
        "orders.coupon.throughput",
        "orders.coupon.sql_per_order",
        "coupons.validate.sql_per_request",
        "reads.wallet.sql_per_request",
        "reads.frequently_purchased.sql_per_request",
        "reads.merchant_members.sql_per_request",
        "reads.points_ledger.sql_per_request",
        "reads.my_coupons.sql_per_request",
        "reads.feed.sql_per_request",
        "reads.inbox.sql_per_request",
        "rollouts.stage.throughput",
    } <= set(by_name)
    assert by_name["orders.service.throughput"].baseline > 0
    assert by_name["orders.coupon.throughput"].baseline > 0
    # The coupon-order benchmark set the repurchase template for its own run only
    assert Program.objects.get(merchant=data.merchant).repurchase_template is None
    rows = json.loads((tmp_path / "latest.json").read_text())
    assert rows and all(set(row) == RESULT_KEYS for row in rows)
    # every feature without a benchmark said so
    out = capsys.readouterr().out
    assert all(registry.skip_line(b) in out for b in registry.REGISTRY if b.run is None)
    # and a next round (--repeat) gets a run id of its own and new newcomers for the used ones
    following = fixtures_next_round(data)
    assert following.run_id != data.run_id and following.round_no == 1
    assert len(following.newcomers) == len(data.newcomers)
    assert not {n.member.shopper_id for n in following.newcomers} & {
        n.member.shopper_id for n in data.newcomers
    }


def test_result_json_has_null_baseline_and_pass_where_nothing_applies():
    plain = Result("x.latency", 12.5, "ms").as_json()
    assert plain == {
        "name": "x.latency", "value": 12.5, "unit": "ms", "baseline": None, "ratio": None,
        "target": None, "passed": None, "rounds": None, "spread": None, "load": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("result", "passed"),
    [
        (Result("a", 40, "ms", target=at_most(50)), True),
        (Result("a", 60, "ms", target=at_most(50)), False),
        (Result("a", 40, "ms", target=at_most(50), valid=False), False),
        (Result("a", 80, "rows/s", baseline=100, target=ratio_at_least(0.67)), True),
        (
            Result("a", 50, "rows/s", baseline=100, target=ratio_at_least(0.67)),
            False,
        ),
    ],
)
def test_targets_apply_to_the_figure_or_to_its_ratio_with_the_baseline(result, passed):
    assert result.passed is passed


def test_compare_prints_the_change_against_an_earlier_run(capsys):
    earlier = [Result("orders.service.throughput", 100, "orders/s", baseline=400).as_json()]

    report.compare_print(
        [Result("orders.service.throughput", 110, "orders/s", baseline=400)], earlier, "old.json"
    )

    out = capsys.readouterr().out
    assert "+10.0%" in out and "ratio 0.25x -> 0.28x" in out


def test_rounds_merge_into_their_median_with_the_spread_and_pass_when_most_rounds_pass():
    # Given three rounds of a latency and a throughput, one latency round a miss
    rounds = [
        [Result("a.p99", 30, "ms", target=at_most(50)), Result("t", 60, "rows/s", baseline=100)],
        [Result("a.p99", 70, "ms", target=at_most(50)), Result("t", 80, "rows/s", baseline=100)],
        [Result("a.p99", 40, "ms", target=at_most(50)), Result("t", 70, "rows/s", baseline=200)],
    ]

    # When they are merged
    p99, throughput = registry.results_merge(rounds)

    # Then each figure is the median, with the rounds' lowest and highest, and the
    # target is judged on the median: two rounds of three met it
    assert (p99.value, p99.spread, p99.passed, p99.rounds_passed) == (40, (30, 70), True, 2)
    assert throughput.value == 70 and throughput.baseline == 100
    assert throughput.ratio == pytest.approx(0.6)  # the median of 0.6, 0.8 and 0.35
    assert p99.as_json()["rounds"] == [30, 70, 40]


def test_a_round_whose_requests_failed_counts_as_a_miss():
    rounds = [
        [Result("a.p99", 30, "ms", target=at_most(50), valid=False)],
        [Result("a.p99", 30, "ms", target=at_most(50), valid=False)],
        [Result("a.p99", 30, "ms", target=at_most(50))],
    ]

    (merged,) = registry.results_merge(rounds)

    assert merged.passed is False and merged.rounds_passed == 1


def test_the_runner_repeats_a_benchmark_with_a_new_round_each_time_but_counts_once(monkeypatch, capsys):
    # Given a latency benchmark and a statement count, and a context asking for three rounds
    figures = iter([12.0, 30.0, 18.0])
    monkeypatch.setattr(
        registry,
        "REGISTRY",
        [
            registry.Benchmark("x.http", "latency", run=lambda ctx: [Result("x.p99", next(figures), "ms")]),
            registry.Benchmark(
                "x.queries", "count", run=lambda ctx: [Result("x.sql", 3, "st")], repeat=False
            ),
        ],
    )

    class Ctx:
        repeat = 3
        rounds_started = 0

        def next_round(self):
            self.rounds_started += 1

    ctx = Ctx()

    # When the runner runs them
    outcome = registry.run_all(ctx)

    # Then the latency ran three times (two fresh rounds) and reports its median, the
    # count once; the load average was printed around every round
    latency, count = outcome.results
    assert (latency.value, len(latency.rounds), ctx.rounds_started) == (18.0, 3, 2)
    assert count.rounds == () and count.value == 3
    assert latency.load is not None and count.load is not None
    out = capsys.readouterr().out
    assert out.count("at the start]") == 4 and "round 3/3" in out and "median of 3" in out
