"""Each account's fans and iron fans (``AccountFanCount``), moved by whatever changes them.

The merchant's account list shows every account's fans, iron fans and their ratio. Counted
from the follows on every request, that was 10 ms of PostgreSQL for 30 accounts and 50k
follows, and grows with the fans: a merchant with a million is a second a page
(docs/performance.md, "Issue 14, 2026-12-03 night"). So the counts are kept, one row per
account, and moved in the same transaction as the write that changes them:

- a follow (``follow_create``): one more fan;
- an unfollow (``follow_delete``) and a shopper's deletion (``shopper_delete``): one fan
  less for each follow gone, and one iron fan less for each that was one;
- the hourly recompute (``members.engagement.jobs``): its promotions and demotions;
- an account's deletion takes its row with it (a cascade).

Whatever loads follows in bulk by other means (the benchmark's dataset) calls
``fan_counts_recount`` after.

A move is a delta added by one statement an account, never a count read and written back,
so moves made at the same time add up. Lock order (``core.locks``): the count rows come
last, after the follows, in account-id order.
"""

from collections.abc import Iterable, Mapping

from django.db import connection, transaction

from core import sql
from members.locks import account_fan_counts_lock
from members.models import Account, AccountFanCount, Follow

COUNT = AccountFanCount._meta.db_table
FOLLOW = Follow._meta.db_table
ACCOUNT = Account._meta.db_table


def fan_counts_move(moves: Mapping[int, tuple[int, int]]) -> None:
    """Add ``(fans, iron_fans)`` to each account's counts (``moves`` by account id; either may
    be negative); nothing for no move.

    One statement an account, in account-id order (two recompute ranges moving the same
    accounts at once then never wait on each other in a cycle); a follow moves one, a range
    of the recompute the few accounts whose fans it changed. A move that adds fans is an
    upsert (the row is made on the account's first fan); any other (fans gone, iron fans
    promoted or demoted) updates the row the account's fans made: an upsert would not do,
    as both databases check the row it would insert (fewer than no fans, more iron fans
    than fans) before they look for the conflict.
    """
    with connection.cursor() as cursor:
        for account_id, (fans, iron) in sorted(moves.items()):
            if fans >= iron >= 0 and fans:
                cursor.execute(_ADD, [account_id, fans, iron])
            elif fans or iron:
                cursor.execute(_TAKE, [fans, iron, account_id])


_ADD = (
    f"INSERT INTO {COUNT} (account_id, fans, iron_fans) VALUES (%s, %s, %s) ON CONFLICT (account_id)"
    f" DO UPDATE SET fans = {COUNT}.fans + excluded.fans, iron_fans = {COUNT}.iron_fans + excluded.iron_fans"
)
_TAKE = f"UPDATE {COUNT} SET fans = fans + %s, iron_fans = iron_fans + %s WHERE account_id = %s"


def fans_gone(follows: Iterable[tuple[int, bool]]) -> dict[int, tuple[int, int]]:
    """The moves of follows ``(account_id, iron_fan)`` that are gone: a fan less each, and an
    iron fan less for each that was one."""
    moves: dict[int, tuple[int, int]] = {}
    for account_id, iron_fan in follows:
        fans, iron = moves.get(account_id, (0, 0))
        moves[account_id] = (fans - 1, iron - 1 if iron_fan else iron)
    return moves


@transaction.atomic
def fan_counts_recount(*, account_ids: Iterable[int]) -> int:
    """Set the accounts' counts from their follows; how many were wrong.

    Exact while follows change: the count rows are locked first (made where missing), and
    the follows counted by the next statement, whose snapshot (READ COMMITTED) starts after
    every writer that had moved those counts has committed. A writer that has not moved them
    yet has a follow this count cannot see, and adds its delta afterwards. On SQLite the
    first statement writes, and holds the database's one write lock from there on.
    """
    ids = sorted(set(account_ids))
    if not ids:
        return 0
    within, params = sql.any_of("a.id", ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {COUNT} (account_id, fans, iron_fans) SELECT a.id, 0, 0 FROM {ACCOUNT} a"
            f" WHERE {within} ON CONFLICT (account_id) DO NOTHING",
            params,
        )
        kept = {
            account_id: (fans, iron)
            for account_id, fans, iron in account_fan_counts_lock()
            .filter(account_id__in=ids)
            .values_list("account_id", "fans", "iron_fans")
        }
        counted, params = sql.any_of("account_id", ids)
        cursor.execute(
            f"SELECT account_id, COUNT(*), SUM(CASE WHEN iron_fan THEN 1 ELSE 0 END) FROM {FOLLOW}"
            f" WHERE {counted} GROUP BY account_id",
            params,
        )
        actual = {account_id: (fans, int(iron)) for account_id, fans, iron in cursor.fetchall()}
        wrong = sorted(
            (account_id, *actual.get(account_id, (0, 0)))
            for account_id, was in kept.items()
            if actual.get(account_id, (0, 0)) != was
        )
        if wrong:  # a repair: rare, and a few rows
            cursor.executemany(
                f"UPDATE {COUNT} SET fans = %s, iron_fans = %s WHERE account_id = %s",
                [(fans, iron, account_id) for account_id, fans, iron in wrong],
            )
    return len(wrong)


def merchant_fan_counts_recount(*, merchant_id: int) -> int:
    """``fan_counts_recount`` for every account of the merchant."""
    return fan_counts_recount(
        account_ids=Account.objects.filter(merchant_id=merchant_id).values_list("pk", flat=True)
    )
