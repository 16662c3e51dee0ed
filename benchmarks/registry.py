"""What a benchmark is, what it returns, and the list the runner walks.

A benchmark is a function ``run(ctx) -> list[Result]`` registered with
``@benchmark(...)``; a feature that is not built yet is a ``pending(...)`` line that
prints ``SKIPPED: ...`` and measures nothing. A later issue adds its benchmark by
adding one module to ``benchmarks/cases/`` (and deleting its ``pending`` line).
"""

import operator
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

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        return bool(self.valid and self.target.met(self))

    def as_json(self) -> dict:
        ratio = self.ratio
        return {
            "name": self.name,
            "value": round(self.value, 4),
            "unit": self.unit,
            "baseline": None if self.baseline is None else round(self.baseline, 4),
            "ratio": None if ratio is None else round(ratio, 4),
            "target": None if self.target is None else str(self.target),
            "passed": self.passed,
        }


@dataclass
class Benchmark:
    name: str
    title: str
    run: Callable | None = None
    needs_server: bool = False
    # Pending ones: the feature, its issue, and a probe that tells whether it exists yet.
    feature: str | None = None
    issue: int | None = None
    probe: Callable[[], bool] | None = None


REGISTRY: list[Benchmark] = []


def benchmark(name: str, *, title: str, needs_server: bool = False):
    def register(func):
        REGISTRY.append(Benchmark(name=name, title=title, run=func, needs_server=needs_server))
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
        started = time.perf_counter()
        try:
            results = bench.run(ctx)
        except Exception as exc:
            traceback.print_exc()
            outcome.errors.append(f"{bench.name}: {exc.__class__.__name__}: {exc}")
            say(f"ERROR: {bench.name} failed: {exc.__class__.__name__}: {exc}")
            continue
        outcome.results.extend(results)
        say(f"   ({time.perf_counter() - started:.1f}s)")
    return outcome
