"""Row locks of the loyalty app; the order across apps is in ``core.locks``."""

from django.db.models import QuerySet

from core.locks import locked
from loyalty.models import PointsAccount, Program


def points_accounts_lock(*, with_membership: bool = False) -> QuerySet[PointsAccount]:
    """Points accounts, locked by id: the lock every ledger write holds.

    ``with_membership`` locks each account's membership in the same statement (the
    caller adds ``select_related("membership")``): the member's state stays as read until commit.
    """
    return locked(PointsAccount, of=("self", "membership") if with_membership else ("self",))


def programs_lock() -> QuerySet[Program]:
    return locked(Program)
