"""Campaign audiences: a few keys, ANDed, compiled to one SQL query over shoppers.

``audience_compile(merchant=, audience=)`` checks the keys against the merchant's own
data (its tiers, categories, accounts: another merchant's are unknown here) and
returns a ``Shopper`` queryset filtered by ``EXISTS`` subqueries, one per key. It is
never evaluated in Python: a dry run counts it, a run chunks it by primary key, and
each chunk inserts its coupons from it (``INSERT ... SELECT``).

| key | value | shoppers |
|---|---|---|
| ``members`` | bool | with an active membership (``false``: without) |
| ``iron_fans`` | bool | iron fans of one of the merchant's accounts (``false``: of none) |
| ``tier_at_least`` | tier name | active members in that tier or a higher one |
| ``bought_category`` | category slug | who bought a product of that category from the merchant |
| ``lapsed_days`` | days | who bought from the merchant, but not in the last N days |
| ``joined_within_days`` | days | active members who joined in the last N days |
| ``followers_of`` | account handle | who follow that account of the merchant (members or not) |

An audience must hold at least one key that selects the merchant's own shoppers
(anything but ``members: false`` and ``iron_fans: false``): a campaign never reaches
the other merchants' shoppers.

``iron_fans`` reaches iron fans who never joined, so alone (or beside keys that do not
require a membership) it reads the follows. Beside a key that selects active members
only (``members: true``, ``tier_at_least``, ``joined_within_days``) it reads the
membership's own flag instead (``Membership.iron_fan``, kept in step with the follows
by ``members.iron_fan_flags``): the same shoppers, from the membership row the other
key reads anyway, without joining the merchant's iron-fan follows.
"""

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from core.fields import has_control_characters
from coupons import errors
from members.models import Account, Follow, Membership, Merchant, Shopper, Tier
from storefront.models import Order, Product, PurchaseStat

MAX_DAYS = 3650
KEYS = (
    "members",
    "iron_fans",
    "tier_at_least",
    "bought_category",
    "lapsed_days",
    "joined_within_days",
    "followers_of",
)
# Keys whose value only narrows shoppers the other keys selected.
EXCLUDING = {("members", False), ("iron_fans", False)}
# Keys that hold active members of the merchant only.
MEMBERS_ONLY = ("tier_at_least", "joined_within_days")


def audience_check(*, merchant: Merchant, audience: Any) -> dict:
    """The audience as stored, or ``AudienceInvalid`` naming the first bad key."""
    audience_compile(merchant=merchant, audience=audience)
    return dict(audience)


def audience_compile(*, merchant: Merchant, audience: Any, now: datetime | None = None) -> QuerySet[Shopper]:
    """The shoppers of ``audience`` as one query (not evaluated); ``AudienceInvalid`` naming
    the first bad key when it is not a valid audience of this merchant."""
    if not isinstance(audience, dict):
        raise errors.AudienceInvalid("An audience is an object of keys.", attr="audience")
    now = now or timezone.now()
    members_only = _members_only(audience)
    condition = Q()
    for key, value in audience.items():
        if key not in KEYS:
            # On the key when it can be named as ``audience.<key>`` (the schema's
            # pattern), else on the object: a key is the caller's text (found by the fuzz).
            raise errors.AudienceInvalid(
                f"Unknown audience key {key!r}; known: {', '.join(KEYS)}.",
                attr=f"audience.{key}" if key and "." not in key else "audience",
            )
        condition &= _condition(merchant=merchant, key=key, value=value, now=now, members_only=members_only)
    if not [item for item in audience.items() if item not in EXCLUDING]:
        raise errors.AudienceInvalid(
            "An audience needs a key that selects the merchant's shoppers (members: true, iron_fans: true, "
            "tier_at_least, bought_category, lapsed_days, joined_within_days or followers_of).",
            attr="audience",
        )
    return Shopper.objects.filter(condition)


def audience_size(*, merchant: Merchant, audience: dict) -> int:
    """The dry run: how many shoppers the audience holds now. Writes nothing.

    Counted from the rows of one key that holds each shopper at most once (an account's
    follows, the merchant's active memberships), the other keys as ``EXISTS`` on their
    shopper: an index scan of that key's rows, where counting shoppers would join the
    whole shopper table to them (1M follows of one account: 2.7 s against a fraction of
    it; docs/campaigns.md). Without such a key, the shoppers are counted.
    """
    shoppers = audience_compile(merchant=merchant, audience=audience)  # validated here
    now = timezone.now()
    driver = next((key for key in DRIVERS if key in audience and audience[key] is not False), None)
    if driver is None:
        return shoppers.count()
    rows = _driver_rows(merchant=merchant, key=driver, value=audience[driver], now=now)
    members_only = _members_only(audience)
    for key, value in audience.items():
        if key == driver:
            continue
        if key == "iron_fans" and driver != "followers_of":
            rows = rows.filter(iron_fan=value)  # the membership rows' own flag
            continue
        rows = rows.filter(
            _condition(
                merchant=merchant,
                key=key,
                value=value,
                now=now,
                members_only=members_only,
                shopper=OuterRef("shopper_id"),
            )
        )
    return rows.count()


# Keys whose rows hold each shopper once (unique (shopper, account), (shopper, merchant)).
DRIVERS = ("followers_of", "joined_within_days", "tier_at_least", "members")


def _driver_rows(*, merchant: Merchant, key: str, value: Any, now: datetime) -> QuerySet:
    if key == "followers_of":
        return Follow.objects.filter(account=Account.objects.filter(merchant=merchant, handle=value).first())
    memberships = _active_memberships(merchant)
    if key == "joined_within_days":
        return memberships.filter(joined_at__gte=now - timedelta(days=value))
    if key == "tier_at_least":
        tier = Tier.objects.get(merchant=merchant, name=value)
        return memberships.filter(tier__rank__gte=tier.rank)
    return memberships


def _members_only(audience: dict) -> bool:
    """Does the audience hold active members of the merchant only?"""
    return audience.get("members") is True or any(key in audience for key in MEMBERS_ONLY)


def _condition(
    *, merchant: Merchant, key: str, value: Any, now: datetime, members_only: bool, shopper=None
) -> Q:
    shopper = shopper if shopper is not None else OuterRef("pk")
    if key in ("members", "iron_fans"):
        if not isinstance(value, bool):
            raise errors.AudienceInvalid(f"{key} is true or false.", attr=f"audience.{key}")
        if key == "iron_fans" and members_only:
            # An active member (another key says so) whose membership has the flag, or not.
            return Q(Exists(_active_memberships(merchant).filter(shopper=shopper, iron_fan=value)))
        if key == "members":
            exists = Exists(_active_memberships(merchant).filter(shopper=shopper))
        else:
            exists = Exists(Follow.objects.filter(shopper=shopper, account__merchant=merchant, iron_fan=True))
        return Q(exists) if value else ~Q(exists)
    if key in ("lapsed_days", "joined_within_days"):
        days = _days(key, value)
        since = now - timedelta(days=days)
        if key == "joined_within_days":
            return Q(Exists(_active_memberships(merchant).filter(shopper=shopper, joined_at__gte=since)))
        orders = Order.objects.filter(merchant=merchant, shopper=shopper)
        return Q(Exists(orders)) & ~Q(Exists(orders.filter(paid_at__gte=since)))
    name = _text(key, value)
    if key == "tier_at_least":
        tier = Tier.objects.filter(merchant=merchant, name=name).first()
        if tier is None:
            raise errors.AudienceInvalid(
                f"No tier of this merchant is named {name!r}.", attr=f"audience.{key}"
            )
        return Q(Exists(_active_memberships(merchant).filter(shopper=shopper, tier__rank__gte=tier.rank)))
    if key == "bought_category":
        if not Product.objects.filter(merchant=merchant, category__slug=name).exists():
            raise errors.AudienceInvalid(
                f"No product of this merchant is in the category {name!r}.", attr=f"audience.{key}"
            )
        return Q(
            Exists(
                PurchaseStat.objects.filter(shopper=shopper, merchant=merchant, product__category__slug=name)
            )
        )
    # followers_of
    account = Account.objects.filter(merchant=merchant, handle=name).first()
    if account is None:
        raise errors.AudienceInvalid(
            f"No account of this merchant has the handle {name!r}.", attr=f"audience.{key}"
        )
    return Q(Exists(Follow.objects.filter(shopper=shopper, account=account)))


def _active_memberships(merchant: Merchant) -> QuerySet[Membership]:
    return Membership.objects.filter(merchant=merchant, status=Membership.Status.ACTIVE)


def _days(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise errors.AudienceInvalid(
            f"{key} is a whole number of days, 1 to {MAX_DAYS}.", attr=f"audience.{key}"
        )
    return value


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 100 or has_control_characters(value):
        raise errors.AudienceInvalid(
            f"{key} is a non-empty name of at most 100 characters, without control characters.",
            attr=f"audience.{key}",
        )
    return value
