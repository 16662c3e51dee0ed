from datetime import UTC, datetime

import pytest
from django.utils import timezone

# A Monday noon, far from any daylight-saving change.
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Clock:
    """``timezone.now()`` frozen at ``now``; move it with ``clock.now = ...``."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock(T0)
    monkeypatch.setattr(timezone, "now", frozen)
    return frozen
