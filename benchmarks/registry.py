"""What a benchmark is, what it returns, and the list the runner walks.

A benchmark is a function ``run(ctx) -> list[Result]`` registered with
``@benchmark(...)``; a feature that is not built yet is a ``pending(...)`` line that
prints ``SKIPPED: ...`` and measures nothing. A later issue adds its benchmark by
adding one module to ``benchmarks/cases/`` (and deleting its ``pending`` line).

Figures that survive noise: the runner runs every benchmark ``ctx.repeat`` times in
a row (``--repeat``; one round for those registered with ``repeat=False``, the
statement counts, which do not move), prints the load average at the start and end of
each round, and merges the rounds' results of the same name into one: the median
figure, the spread (lowest and highest), and a target met when most rounds met it,
which for an odd number of rounds is exactly "the median meets it" (a round whose
requests failed counts as a miss).
"""

import math
import operator
import os
import statistics
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks.progress import say

_OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq}


@dataclass(frozen=True)
class Target:
    """A bound on the figure (``on="value"``) or on figure/baseline (``on="ratio"``)."""

    op: str
    bound: float
    on: str = "value"

    def __str__(self) -> str:
        bound = f"{self.bound:g}"
        return f"ratio {self.op} {bound}" if self.on == "ratio" else f"{self.op} {bound}"

    def met(self, result: "Result") -> bool | None:
        subject = result.ratio if self.on == "ratio" else result.value
        return None if subject is None else _OPS[self.op](subject, self.bound)


def at_most(bound: float) -> Target:
    return Target("<=", bound)


def at_least(bound: float) -> Target:
    return Target(">=", bound)


def ratio_at_least(bound: float) -> Target:
    """The figure must reach ``bound`` times its raw-SQL baseline (a throughput's target)."""
    return Target(">=", bound, on="ratio")


def exactly(bound: float) -> Target:
    return Target("==", bound)


@dataclass
class Result:
    name: str
    value: float
    unit: str
    baseline: float | None = None
    target: Target | None = None
    # False when the measurement itself is unsound (e.g. requests failed): never a pass.
    valid: bool = True
    # A merged figure: the rounds it is the median of (empty for a single measurement).
    rounds: tuple["Result", ...] = ()
    # 1-minute load average when the benchmark started and when it ended (all its rounds).
    load: tuple[float, float] | None = None

    @property
    def ratio(self) -> float | None:
        if self.rounds:
            return _median([r.ratio for r in self.rounds if r.ratio is not None])
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        if self.rounds:
            return 2 * self.rounds_passed > len(self.rounds)
        return bool(self.valid and self.target.met(self))

    @property
    def rounds_passed(self) -> int:
        return sum(1 for r in self.rounds if r.passed) if self.rounds else int(bool(self.passed))

    @property
    def spread(self) -> tuple[float, float] | None:
        """The lowest and highest figure of the rounds (None for a single measurement)."""
        values = [r.value for r in self.rounds if not _isnan(r.value)]
        return (min(values), max(values)) if values else None

    def as_json(self) -> dict:
        ratio, spread = self.ratio, self.spread
        return {
            "name": self.name,
            "value": _round(self.value),
            "unit": self.unit,
            "baseline": None if self.baseline is None else _round(self.baseline),
            "ratio": None if ratio is None else round(ratio, 4),
            "target": None if self.target is None else str(self.target),
            "passed": self.passed,
            "rounds": [_round(r.value) for r in self.rounds] or None,
            "spread": None if spread is None else [_round(v) for v in spread],
            "load": None if self.load is None else [round(v, 2) for v in self.load],
        }


def _isnan(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _round(value: float) -> float | None:
    return None if _isnan(value) else round(value, 4)


def _median(values: list[float]) -> float | None:
    values = [v for v in values if not _isnan(v)]
    return statistics.median(values) if values else None


def results_merge(rounds: list[list[Result]]) -> list[Result]:
    """One result per name from the rounds' results: the median, with the rounds kept.

    A single round is returned as it is. A name missing from some rounds (a benchmark
    that stopped early) is the median of the rounds that have it.
    """
    if len(rounds) == 1:
        return rounds[0]
    by_name: dict[str, list[Result]] = {}
    for results in rounds:
        for result in results:
            by_name.setdefault(result.name, []).append(result)
    merged = []
    for name, runs in by_name.items():
        first = runs[0]
        value = _median([r.value for r in runs])
        baselines = [r.baseline for r in runs]
        merged.append(
            Result(
                name,
                float("nan") if value is None else value,
                first.unit,
                baseline=None if None in baselines else _median(baselines),
                target=first.target,
                valid=all(r.valid for r in runs),
                rounds=tuple(runs),
            )
        )
    return merged


@dataclass
class Benchmark:
    name: str
    title: str
    run: Callable | None = None
    needs_server: bool = False
    repeat: bool = True  # False: one round whatever --repeat says (figures that cannot move)
    # Pending ones: the feature, its issue, and a probe that tells whether it exists yet.
    feature: str | None = None
    issue: int | None = None
    probe: Callable[[], bool] | None = None


REGISTRY: list[Benchmark] = []


def benchmark(name: str, *, title: str, needs_server: bool = False, repeat: bool = True):
    def register(func):
        REGISTRY.append(Benchmark(name=name, title=title, run=func, needs_server=needs_server, repeat=repeat))
        return func

    return register


def pending(name: str, *, feature: str, issue: int | None, probe: Callable[[], bool] | None = None) -> None:
    REGISTRY.append(Benchmark(name=name, title=feature, feature=feature, issue=issue, probe=probe))


@dataclass
class Outcome:
    results: list[Result] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def skip_line(bench: Benchmark) -> str:
    issue = f"issue {bench.issue}" if bench.issue else "no issue filed yet"
    if bench.probe is not None and _safe_probe(bench.probe):
        return f"SKIPPED: {bench.feature} is built but has no benchmark yet ({issue}): add benchmarks/cases/"
    return f"SKIPPED: {bench.feature} not built yet ({issue})"


def _safe_probe(probe) -> bool:
    try:
        return bool(probe())
    except Exception:
        return False


def run_all(ctx, *, only: list[str] | None = None, with_server: bool = True) -> Outcome:
    outcome = Outcome()
    for bench in REGISTRY:
        if only and not any(bench.name.startswith(prefix) for prefix in only):
            continue
        if bench.run is None:
            line = skip_line(bench)
            say(line)
            outcome.skipped.append(line)
            continue
        if bench.needs_server and not with_server:
            line = f"SKIPPED: {bench.title}: this run has no HTTP server"
            say(line)
            outcome.skipped.append(line)
            continue
        say(f"\n== {bench.title} ({bench.name})")
        count = max(1, getattr(ctx, "repeat", 1)) if bench.repeat else 1
        load_start = os.getloadavg()[0]
        rounds = []
        for index in range(count):
            results = _run_round(ctx, bench, index, count, outcome)
            if results is None:
                break
            rounds.append(results)
        if not rounds:
            continue
        merged = results_merge(rounds)
        load = (load_start, os.getloadavg()[0])
        for result in merged:
            result.load = load
        if len(rounds) > 1:
            for result in merged:
                say(f"   median of {len(rounds)}: {_summary(result)}")
        outcome.results.extend(merged)
    return outcome


def _run_round(ctx, bench: Benchmark, index: int, count: int, outcome: Outcome) -> list[Result] | None:
    """One round of ``bench``, between two load averages; None when it broke."""
    if index and hasattr(ctx, "next_round"):
        ctx.next_round()
    one, five, _ = os.getloadavg()
    label = f"round {index + 1}/{count}, " if count > 1 else ""
    say(f"   [{label}load average {one:.2f} (1 min), {five:.2f} (5 min) at the start]")
    started = time.perf_counter()
    try:
        results = bench.run(ctx)
    except Exception as exc:
        traceback.print_exc()
        outcome.errors.append(f"{bench.name}: {exc.__class__.__name__}: {exc}")
        say(f"ERROR: {bench.name} failed: {exc.__class__.__name__}: {exc}")
        return None
    one, five, _ = os.getloadavg()
    say(
        f"   ({time.perf_counter() - started:.1f}s;"
        f" load average {one:.2f} (1 min), {five:.2f} (5 min) at the end)"
    )
    return results


def _summary(result: Result) -> str:
    spread = result.spread
    text = f"{result.name} {result.value:.4g} {result.unit}"
    if spread is not None:
        text += f" (spread {spread[0]:.4g}-{spread[1]:.4g})"
    if result.target is not None:
        text += f", {result.rounds_passed}/{len(result.rounds)} rounds met {result.target}"
    return text
