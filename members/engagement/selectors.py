"""Reads of the engagement side: the fan policy, accounts with their fans, daily stats."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet, Subquery

from members import errors
from members.engagement.models import AccountDailyStat, FanPolicy
from members.models import Account, AccountFanCount, Follow, Merchant


def fan_policy_get(*, merchant: Merchant) -> FanPolicy:
    """The merchant's policy; one never changed reads the defaults (and writes nothing)."""
    return FanPolicy.objects.filter(merchant=merchant).first() or FanPolicy(merchant=merchant)


def fan_policy_for(*, merchant_id: int) -> FanPolicy:
    return FanPolicy.objects.filter(merchant_id=merchant_id).first() or FanPolicy(merchant_id=merchant_id)


def fan_policies_by_merchant(*, merchant_ids) -> dict[int, FanPolicy]:
    """Each merchant's policy, the defaults for those without one."""
    saved = {p.merchant_id: p for p in FanPolicy.objects.filter(merchant_id__in=merchant_ids)}
    return {mid: saved.get(mid) or FanPolicy(merchant_id=mid) for mid in merchant_ids}


@dataclass(slots=True)
class AccountWithFans:
    """One account of the merchant's account list, as ``account_page_with_fans`` reads it
    (no model instances: the list is read often and only shown)."""

    handle: str
    kind: str
    display_name: str
    created_at: datetime
    fans: int
    iron_fans: int


# The account list's order, by handle (unique); its cursor is this key (``core.pagination.Keyset``).
ACCOUNT_PAGE_KEY = [Account._meta.get_field("handle")]


def account_page_with_fans(*, merchant: Merchant, keyset) -> list[AccountWithFans]:
    """One page of the merchant's accounts (``keyset``: the page asked for) with ``fans`` and
    ``iron_fans``; ``iron_fan_ratio`` derives.

    The counts are the ones kept as follows change (``members.fan_counts``), one row per
    account joined to it: nothing is counted at request time, so a page costs the same for
    ten fans as for a million. One statement, written out: as a queryset its compile cost
    more CPU than PostgreSQL spent on it.
    """
    head, key = _account_page_sql()
    rows = keyset.read(head, [merchant.pk], key=[key], fields=_ACCOUNT_FIELDS)
    return [AccountWithFans(*values) for values in rows]


_ACCOUNT_COLUMNS = ("handle", "kind", "display_name", "created_at")
_ACCOUNT_FIELDS = [Account._meta.get_field(name) for name in _ACCOUNT_COLUMNS] + [None, None]


@cache
def _account_page_sql() -> tuple[str, str]:
    """The page statement of ``account_page_with_fans`` up to its WHERE's filter (the
    keyset's condition, ORDER BY and LIMIT follow), and the key's column. Parameter: the
    merchant."""
    quote = connection.ops.quote_name
    account, counts = Account._meta, AccountFanCount._meta
    columns = ", ".join(f"a.{quote(account.get_field(name).column)}" for name in _ACCOUNT_COLUMNS)
    fans, iron_fans = (
        f"COALESCE(c.{quote(counts.get_field(name).column)}, 0)" for name in ("fans", "iron_fans")
    )
    head = (
        f"SELECT {columns}, {fans}, {iron_fans} FROM {quote(account.db_table)} a"
        f" LEFT JOIN {quote(counts.db_table)} c ON c.{quote(counts.pk.column)} = a.{quote(account.pk.column)}"
        f" WHERE a.{quote(account.get_field('merchant').column)} = %s"
    )
    return head, f"a.{quote(account.get_field('handle').column)}"


def account_get(*, merchant: Merchant, handle: str) -> Account:
    account = Account.objects.for_merchant(merchant).filter(handle=handle).first()
    if account is None:
        raise errors.AccountNotFound()
    return account


def account_daily_stats(*, account: Account, days: int, today: date) -> QuerySet[AccountDailyStat]:
    """The account's snapshots of the last ``days`` days up to ``today``, oldest first."""
    return AccountDailyStat.objects.filter(
        account=account, date__gt=today - timedelta(days=days), date__lte=today
    )


# --- The purchase pipeline's attribution, read inside the statements it makes anyway ---


def brand_account_id(*, merchant) -> Subquery:
    """For a row: the id of its merchant's brand account (``merchant``: an OuterRef)."""
    return Subquery(Account.objects.filter(merchant=merchant, kind=Account.Kind.BRAND).values("pk")[:1])


def follows_brand(*, shopper, merchant) -> Exists:
    return Exists(
        Follow.objects.filter(shopper=shopper, account__merchant=merchant, account__kind=Account.Kind.BRAND)
    )


def follows_account(*, shopper, account) -> Exists:
    return Exists(Follow.objects.filter(shopper=shopper, account=account))


def brand_account_for(*, merchant: Merchant, shopper_id: int) -> tuple[int, bool] | None:
    """The merchant's brand account id and whether the shopper follows it: one query."""
    return (
        Account.objects.filter(merchant=merchant, kind=Account.Kind.BRAND)
        .annotate(followed=follows_account(shopper=shopper_id, account=OuterRef("pk")))
        .values_list("pk", "followed")
        .first()
    )
