"""Reads of the engagement side: the fan policy, accounts with their fans, daily stats."""

from datetime import date, timedelta

from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from members import errors
from members.engagement.models import AccountDailyStat, FanPolicy
from members.models import Account, Follow, Merchant


def fan_policy_get(*, merchant: Merchant) -> FanPolicy:
    """The merchant's policy; one never changed reads the defaults (and writes nothing)."""
    return FanPolicy.objects.filter(merchant=merchant).first() or FanPolicy(merchant=merchant)


def fan_policy_for(*, merchant_id: int) -> FanPolicy:
    return FanPolicy.objects.filter(merchant_id=merchant_id).first() or FanPolicy(merchant_id=merchant_id)


def fan_policies_by_merchant(*, merchant_ids) -> dict[int, FanPolicy]:
    """Each merchant's policy, the defaults for those without one."""
    saved = {p.merchant_id: p for p in FanPolicy.objects.filter(merchant_id__in=merchant_ids)}
    return {mid: saved.get(mid) or FanPolicy(merchant_id=mid) for mid in merchant_ids}


def account_list_with_fans(*, merchant: Merchant) -> QuerySet[Account]:
    """The merchant's accounts with ``fans`` and ``iron_fans``; ``iron_fan_ratio`` derives.

    Counted per row by correlated subqueries, so a page counts its own accounts only
    (index-only scans of ``follow_account_iron_fan``), not every account's fans.
    """
    return Account.objects.for_merchant(merchant).annotate(
        fans=follow_count(), iron_fans=follow_count(iron_fan=True)
    )


def follow_count(**filters) -> Coalesce:
    """For an account row: its follows (matching ``filters``) counted."""
    counted = (
        Follow.objects.filter(account=OuterRef("pk"), **filters)
        .order_by()
        .values("account")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


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
