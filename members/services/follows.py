"""Writes for follows: a shopper becomes (or stops being) a fan of an account."""

from django.db import IntegrityError, transaction

from members import errors
from members.models import Account, Follow, Shopper


def follow_create(*, shopper: Shopper, handle: str) -> tuple[Follow, bool]:
    """Follow an account; following again is harmless. Returns (follow, created)."""
    account = Account.objects.select_related("merchant").filter(handle=handle).first()
    if account is None:
        raise errors.AccountNotFound(attr="account")
    try:
        with transaction.atomic():
            follow, created = Follow.objects.get_or_create(shopper=shopper, account=account)
    except IntegrityError:  # a concurrent follow of the same account
        follow, created = Follow.objects.get(shopper=shopper, account=account), False
    follow.account = account
    return follow, created


def follow_delete(*, shopper: Shopper, handle: str) -> None:
    """Unfollow an account; unfollowing one not followed is harmless."""
    account = Account.objects.filter(handle=handle).only("pk").first()
    if account is None:
        raise errors.AccountNotFound()
    Follow.objects.filter(shopper=shopper, account=account).delete()
