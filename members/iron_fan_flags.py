"""The per-membership iron-fan flag (``Membership.iron_fan``), kept in step with the follows.

A member is an iron fan of a merchant when at least one of their follows of the
merchant's accounts is (``Follow.iron_fan``). The member list filters and pages on
the flag by one partial index instead of joining every iron-fan follow of the
merchant (docs/performance.md, "Member list"). Whatever writes a follow's status
(the hourly recompute, an unfollow), deletes follows (an account's deletion,
``members.services.account_delete``) or creates a membership (a join) calls
``iron_fan_flags_sync`` for the shoppers it touched, in the same transaction.

Lock order (``core.locks``): memberships before follows. A writer of follow statuses
first locks the memberships of the shoppers it may change (``iron_fan_memberships_lock``),
then writes the follows, then syncs the flags: the flag is computed from the follows
by a statement that starts after every earlier holder of those membership locks has
committed, so the last writer of a shopper's follows leaves the right flag, whatever
ran at the same time. Set-based: one statement for any number of shoppers.
"""

from collections.abc import Collection

from django.db import connection

from members.locks import memberships_lock
from members.models import Account, Follow, Membership

MEMBERSHIP = Membership._meta.db_table
FOLLOW = Follow._meta.db_table
ACCOUNT = Account._meta.db_table

# For a membership row: is the shopper an iron fan of any of the merchant's accounts?
IS_IRON_FAN = f"""EXISTS (
    SELECT 1 FROM {FOLLOW} f JOIN {ACCOUNT} a ON a.id = f.account_id
    WHERE f.shopper_id = {MEMBERSHIP}.shopper_id AND a.merchant_id = {MEMBERSHIP}.merchant_id AND f.iron_fan
)"""


def iron_fan_memberships_lock(*, merchant_id: int, shopper_ids: Collection[int]) -> None:
    """Lock the merchant's memberships of ``shopper_ids`` (primary-key order), before their follows."""
    if shopper_ids:
        list(memberships_lock().filter(merchant_id=merchant_id, shopper_id__in=shopper_ids).values_list("pk"))


def account_fans_memberships_lock(*, account: Account) -> set[int]:
    """Lock the merchant's memberships of the account's followers (primary-key order), before
    its follows; the shoppers who are its iron fans, read under those locks.

    All the followers, not only its iron fans: a recompute that would promote one of them
    meanwhile waits for these locks, so the iron fans read here are the ones to sync.
    """
    follows = Follow.objects.filter(account_id=account.pk)
    memberships = memberships_lock().filter(
        merchant_id=account.merchant_id, shopper_id__in=follows.values("shopper_id")
    )
    list(memberships.values_list("pk"))
    return set(follows.filter(iron_fan=True).values_list("shopper_id", flat=True))


def iron_fan_flags_sync(*, merchant_id: int, shopper_ids: Collection[int] | None) -> int:
    """Set the merchant's membership flags of ``shopper_ids`` (all its members: None) from
    the follows as they are now; the rows changed (only those that disagree are written)."""
    if shopper_ids is not None and not shopper_ids:
        return 0
    params: list = [merchant_id]
    only = ""
    if shopper_ids is not None:
        only, values = _any_of(f"{MEMBERSHIP}.shopper_id", sorted(set(shopper_ids)))
        only = f"AND {only}"
        params += values
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {MEMBERSHIP} SET iron_fan = {IS_IRON_FAN}"
            f" WHERE {MEMBERSHIP}.merchant_id = %s {only} AND {MEMBERSHIP}.iron_fan <> {IS_IRON_FAN}",
            params,
        )
        return cursor.rowcount


def is_iron_fan(*, merchant_id: int, shopper_id: int) -> bool:
    """The flag a new membership starts with."""
    return Follow.objects.filter(
        shopper_id=shopper_id, account__merchant_id=merchant_id, iron_fan=True
    ).exists()


def _any_of(column: str, values: list) -> tuple[str, list]:
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values
