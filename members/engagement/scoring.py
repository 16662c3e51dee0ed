"""The arithmetic of fan scores, pure: shared by the ingestion, the jobs and the tests.

A score decays by half every ``half_life`` and each event adds ``weight * quantity``:

    score(t) = score(t0) * 0.5 ** ((t - t0) / half_life) + weight * quantity

kept on the row with the time it is valid at (``score_at``). Events are folded in
at their own time: an event older than ``score_at`` adds what it is worth at
``score_at`` (``weight * quantity * 0.5 ** ((score_at - t) / half_life)``), so the
order in which a batch or a redelivery arrives does not change the result.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

DAY_SECONDS = 86400.0


@dataclass(frozen=True)
class ScoreState:
    score: float
    at: datetime | None


def decay_factor(*, seconds: float, half_life_days: float) -> float:
    """How much of a score is left after ``seconds``; never above 1 (no growth backwards)."""
    if seconds <= 0:
        return 1.0
    return 0.5 ** (seconds / (half_life_days * DAY_SECONDS))


def decayed(state: ScoreState, *, to: datetime, half_life_days: float) -> float:
    """The score brought to ``to`` (never to before ``state.at``)."""
    if state.at is None:
        return state.score
    return state.score * decay_factor(seconds=(to - state.at).total_seconds(), half_life_days=half_life_days)


def fold(state: ScoreState, events: Iterable[tuple[datetime, float]], *, half_life_days: float) -> ScoreState:
    """``state`` with the events ``(occurred_at, weight * quantity)`` added.

    The result is valid at the latest of ``state.at`` and the events' times.
    """
    events = list(events)
    if not events:
        return state
    latest = max(at for at, _ in events)
    to = latest if state.at is None or latest > state.at else state.at
    score = decayed(state, to=to, half_life_days=half_life_days)
    for at, points in events:
        score += points * decay_factor(seconds=(to - at).total_seconds(), half_life_days=half_life_days)
    return ScoreState(score=score, at=to)


# The defaults of a new merchant's policy (the FanPolicy model's field defaults say
# the same; this is the reading for documentation and the API).
ACTIVE_DAYS_WINDOW = timedelta(days=30)
