"""Writes for memberships: joining (numbered, in the entry tier) and leaving."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from members.iron_fan_flags import is_iron_fan
from members.locks import merchants_lock
from members.models import Membership, Merchant, Shopper
from members.selectors import tier_entry


@dataclass(frozen=True)
class JoinResult:
    membership: Membership
    joined: bool  # False when the shopper was already an active member
    first_time: bool  # True only on the very first join with this merchant


@transaction.atomic
def membership_join(*, shopper: Shopper, merchant: Merchant) -> JoinResult:
    """Join a merchant's membership, or come back after leaving.

    The merchant's row lock serialises joins of one merchant: the member number is
    taken from its counter, and a concurrent double join sees the first one's row.
    """
    locked = merchants_lock().only("pk", "last_member_number").get(pk=merchant.pk)
    existing = Membership.objects.filter(shopper=shopper, merchant=merchant).first()
    now = timezone.now()
    if existing is not None:
        if existing.status == Membership.Status.ACTIVE:
            return JoinResult(existing, joined=False, first_time=False)
        existing.status = Membership.Status.ACTIVE
        existing.joined_at = now
        existing.left_at = None
        existing.iron_fan = is_iron_fan(merchant_id=merchant.pk, shopper_id=shopper.pk)
        existing.save(update_fields=["status", "joined_at", "left_at", "iron_fan"])
        return JoinResult(existing, joined=True, first_time=False)
    locked.last_member_number += 1
    locked.save(update_fields=["last_member_number"])
    tier = tier_entry(merchant=merchant)
    membership = Membership.objects.create(
        shopper=shopper,
        merchant=merchant,
        number=locked.last_member_number,
        tier=tier,
        tier_since=now if tier is not None else None,
        joined_at=now,
        # A fan before joining is an iron-fan member at once (members.iron_fan_flags).
        iron_fan=is_iron_fan(merchant_id=merchant.pk, shopper_id=shopper.pk),
    )
    return JoinResult(membership, joined=True, first_time=True)


@transaction.atomic
def membership_leave(*, shopper: Shopper, merchant: Merchant) -> None:
    """Leave a membership. The row stays: points and number wait for a rejoin.

    Idempotent, as unfollowing is: leaving twice, or a merchant never joined, changes
    nothing and is no error (the caller's wish, "not a member", holds either way).
    """
    Membership.objects.filter(shopper=shopper, merchant=merchant, status=Membership.Status.ACTIVE).update(
        status=Membership.Status.LEFT, left_at=timezone.now()
    )
