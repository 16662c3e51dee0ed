"""The score moves with the follow: adopted when a shopper follows, kept when they leave."""

from members.engagement import scoring, sql
from members.engagement.models import FanPolicy
from members.engagement.services.batch import add_to_waiting_scores
from members.locks import waiting_scores_lock
from members.models import Follow


def follow_adopt_score(*, follow: Follow) -> None:
    """A new follow starts from the decayed score its shopper earned before following.

    Called in the follow's transaction. The waiting score is taken (locked, moved,
    deleted); the hourly job folds in any that a concurrent batch wrote meanwhile.
    """
    waiting = waiting_scores_lock().filter(account_id=follow.account_id, shopper_id=follow.shopper_id).first()
    if waiting is None:
        return
    follow.score, follow.score_at = waiting.score, waiting.score_at
    Follow.objects.filter(pk=follow.pk).update(score=waiting.score, score_at=waiting.score_at)
    waiting.delete()


def follow_release_score(*, follow: Follow, policy: FanPolicy) -> None:
    """An unfollow keeps the score earned, waiting, so that following again resumes it."""
    if follow.score_at is None or follow.score <= 0:
        return
    add_to_waiting_scores(
        [(follow.account_id, follow.shopper_id, sql.timestamp(follow.score_at), follow.score)],
        policy.half_life_days * scoring.DAY_SECONDS,
    )
