"""Writes for follows: a shopper becomes (or stops being) a fan of an account.

The engagement score moves with the follow: a new follow starts from the score its
shopper earned before following, and an unfollow leaves the score waiting for the
next follow (docs/iron-fans.md). The account's fan counts move with it too
(``members.fan_counts``).
"""

from django.db import IntegrityError, transaction

from members import errors
from members.engagement import selectors as engagement_selectors
from members.engagement import services as engagement_services
from members.fan_counts import fan_counts_move, fans_gone
from members.iron_fan_flags import iron_fan_flags_sync, iron_fan_memberships_lock
from members.locks import follows_lock
from members.models import Account, Follow, Shopper


def follow_create(*, shopper: Shopper, handle: str) -> tuple[Follow, bool]:
    """Follow an account; following again is harmless. Returns (follow, created)."""
    account = Account.objects.select_related("merchant").filter(handle=handle).first()
    if account is None:
        raise errors.AccountNotFound(attr="account")
    try:
        with transaction.atomic():
            follow, created = Follow.objects.get_or_create(shopper=shopper, account=account)
            if created:
                engagement_services.follow_adopt_score(follow=follow)
                fan_counts_move({account.pk: (1, 0)})
    except IntegrityError:  # a concurrent follow of the same account
        follow, created = Follow.objects.get(shopper=shopper, account=account), False
    follow.account = account
    return follow, created


@transaction.atomic
def follow_delete(*, shopper: Shopper, handle: str) -> None:
    """Unfollow an account; unfollowing one not followed is harmless.

    The score earned stays, waiting for a follow again (docs/iron-fans.md). An iron fan's
    unfollow may end their membership's iron-fan flag: the membership is locked before
    the follow (``core.locks``) and its flag set again after the delete.
    """
    account = Account.objects.filter(handle=handle).only("pk", "merchant_id").first()
    if account is None:
        raise errors.AccountNotFound()
    iron_fan_memberships_lock(merchant_id=account.merchant_id, shopper_ids=[shopper.pk])
    follow = follows_lock().filter(shopper=shopper, account=account).first()
    if follow is None:
        return
    policy = engagement_selectors.fan_policy_for(merchant_id=account.merchant_id)
    engagement_services.follow_release_score(follow=follow, policy=policy)
    follow.delete()
    fan_counts_move(fans_gone([(account.pk, follow.iron_fan)]))
    if follow.iron_fan:
        iron_fan_flags_sync(merchant_id=account.merchant_id, shopper_ids=[shopper.pk])
