"""Writes for a merchant's tiers."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from members import errors
from members.models import Membership, Merchant, Tier
from members.selectors import tier_entry


@transaction.atomic
def tier_create(
    *, merchant: Merchant, name: str, rank: int, min_spend_12m: Decimal, earn_multiplier: Decimal
) -> Tier:
    if Tier.objects.filter(merchant=merchant, name=name).exists():
        raise errors.TierNameTaken(attr="name")
    if Tier.objects.filter(merchant=merchant, rank=rank).exists():
        raise errors.TierRankTaken(attr="rank")
    try:
        with transaction.atomic():
            tier = Tier.objects.create(
                merchant=merchant,
                name=name,
                rank=rank,
                min_spend_12m=min_spend_12m,
                earn_multiplier=earn_multiplier,
            )
    except IntegrityError:  # a concurrent create took the name or the rank
        raise errors.TierNameTaken(attr="name") from None
    if min_spend_12m == 0:
        # A tier that needs no spend may be the new entry tier (the one joins start in):
        # members with no tier, or in a lower tier that needs no spend, move into the
        # entry tier, which is this one unless a higher free tier exists.
        entry = tier_entry(merchant=merchant)
        Membership.objects.filter(merchant=merchant).filter(
            Q(tier__isnull=True) | Q(tier__min_spend_12m=0, tier__rank__lt=entry.rank)
        ).update(tier=entry, tier_since=timezone.now())
    return tier
