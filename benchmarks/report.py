"""The closing table, ``results/latest.json`` and the comparison with an earlier run."""

import json
import math
from pathlib import Path

from benchmarks.progress import say
from benchmarks.registry import Result

COLUMNS = ("name", "figure", "spread", "baseline", "ratio", "target", "result")


def _num(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if float(value).is_integer() or abs(value) >= 1000:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return f"{text} {unit}".strip()


def _spread(result: Result) -> str:
    spread = result.spread
    if spread is None:
        return "-"
    return f"{_num(spread[0])}-{_num(spread[1], result.unit)}"


def _verdict(result: Result) -> str:
    """PASS/FAIL on the median; with rounds, how many of them met the target."""
    text = {True: "PASS", False: "FAIL", None: "-"}[result.passed]
    if result.rounds and result.target is not None:
        text += f" ({result.rounds_passed}/{len(result.rounds)})"
    return text


def table_print(results: list[Result], skipped: list[str], errors: list[str]) -> None:
    rows = [
        (
            r.name,
            _num(r.value, r.unit),
            _spread(r),
            _num(r.baseline, r.unit),
            "-" if r.ratio is None else f"{r.ratio:.2f}x",
            "-" if r.target is None else str(r.target),
            _verdict(r),
        )
        for r in results
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(COLUMNS, *rows, strict=False)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    say()
    if any(r.rounds for r in results):
        say("figure: the median of the rounds; spread: lowest-highest; result: on the median (rounds met)")
    say(line.format(*COLUMNS))
    say(line.format(*("-" * w for w in widths)))
    for row in rows:
        say(line.format(*row))
    for text in skipped:
        say(text)
    for text in errors:
        say(f"ERROR: {text}")


def results_write(results: list[Result], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([r.as_json() for r in results], indent=2) + "\n")
    say(f"\nResults written to {path}")


def results_load(path: Path) -> list[dict]:
    return json.loads(Path(path).read_text())


def compare_print(results: list[Result], previous: list[dict], label: str) -> None:
    """Each figure beside the earlier one, with the change; ratios too where both have one."""
    before = {row["name"]: row for row in previous}
    say(f"\nCompared with {label}:")
    rows = []
    for r in results:
        old = before.pop(r.name, None)
        if old is None or old.get("value") is None:
            rows.append((r.name, "-", _num(r.value, r.unit), "new", ""))
            continue
        delta = r.value - old["value"]
        share = f"{delta / old['value']:+.1%}" if old["value"] else "-"
        ratio = r.ratio
        ratios = (
            f"ratio {old['ratio']:.2f}x -> {ratio:.2f}x"
            if ratio is not None and old.get("ratio") is not None
            else ""
        )
        rows.append((r.name, _num(old["value"], r.unit), _num(r.value, r.unit), f"{share}", ratios))
    for name, old in before.items():
        rows.append((name, _num(old.get("value"), old.get("unit", "")), "-", "not run", ""))
    header = ("name", "before", "now", "change", "")
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    say(line.format(*header).rstrip())
    for row in rows:
        say(line.format(*row).rstrip())
