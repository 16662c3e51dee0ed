"""The arithmetic of fan scores, against values computed by hand."""

from datetime import UTC, datetime, timedelta

import pytest

from members.engagement.scoring import ScoreState, decayed, fold

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_a_score_halves_every_half_life():
    assert decayed(ScoreState(80.0, T0), to=T0 + timedelta(days=14), half_life_days=14) == pytest.approx(40.0)
    assert decayed(ScoreState(80.0, T0), to=T0 + timedelta(days=28), half_life_days=14) == pytest.approx(20.0)


def test_a_score_never_grows_backwards_in_time():
    assert decayed(ScoreState(80.0, T0), to=T0 - timedelta(days=14), half_life_days=14) == 80.0


def test_folding_an_event_decays_the_score_to_its_time_and_adds_its_weight():
    state = fold(ScoreState(8.0, T0), [(T0 + timedelta(days=7), 2.0)], half_life_days=7)

    assert state == ScoreState(pytest.approx(6.0), T0 + timedelta(days=7))


def test_a_late_event_adds_what_it_is_worth_at_the_scores_time():
    state = fold(ScoreState(8.0, T0), [(T0 - timedelta(days=7), 2.0)], half_life_days=7)

    assert state == ScoreState(pytest.approx(9.0), T0)


def test_the_order_of_events_does_not_change_the_result():
    events = [(T0 + timedelta(days=d), w) for d, w in [(3, 2.0), (1, 4.0), (10, 1.0)]]

    forward = fold(ScoreState(0.0, None), events, half_life_days=5)
    backward = fold(ScoreState(0.0, None), list(reversed(events)), half_life_days=5)
    one_by_one = ScoreState(0.0, None)
    for e in sorted(events):
        one_by_one = fold(one_by_one, [e], half_life_days=5)

    assert forward.score == pytest.approx(backward.score) == pytest.approx(one_by_one.score)
    assert forward.at == backward.at == one_by_one.at == T0 + timedelta(days=10)
