"""Plain-text progress bars: one line per step, readable in a terminal and in CI logs."""

import sys
import time

WIDTH = 24


def say(text: str = "") -> None:
    print(text, flush=True)


class Progress:
    """``with Progress("shoppers", total) as bar: bar.advance(n)`` prints a bar per ~10%."""

    def __init__(self, label: str, total: int, *, unit: str = "rows", out=None):
        self.label, self.total, self.unit = label, max(total, 0), unit
        self.done = 0
        self.out = out or sys.stdout
        self._started = time.perf_counter()
        self._last_shown = -1

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is None and self._last_shown != self.done:
            self._show()

    def advance(self, n: int) -> None:
        self.done = min(self.total, self.done + n) if self.total else self.done + n
        step = max(self.total // 10, 1)
        if self.done == self.total or self.done - max(self._last_shown, 0) >= step:
            self._show()

    def _show(self) -> None:
        self._last_shown = self.done
        elapsed = time.perf_counter() - self._started
        share = self.done / self.total if self.total else 1.0
        filled = round(WIDTH * share)
        bar = "#" * filled + "." * (WIDTH - filled)
        print(
            f"  {self.label:<22} [{bar}] {self.done:>10,}/{self.total:<10,} {self.unit:<7}"
            f" {share:4.0%} {elapsed:7.1f}s",
            file=self.out,
            flush=True,
        )


def timed(label: str):
    """A context manager that prints ``label ... done in Xs`` around a single step."""
    return _Timed(label)


class _Timed:
    def __init__(self, label: str):
        self.label = label

    def __enter__(self):
        self._started = time.perf_counter()
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            say(f"  {self.label:<22} done in {time.perf_counter() - self._started:.1f}s")
