"""A frozen ``timezone.now()`` for tests of decays, windows and stage timers."""

from datetime import UTC, datetime

# A Monday noon, far from any daylight-saving change.
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Clock:
    """``timezone.now()`` frozen at ``now``; move it with ``clock.now = ...``."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now
