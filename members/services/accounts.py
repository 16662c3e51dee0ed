"""Writes for merchants (with their API keys and staff) and their accounts (brand and KOE)."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from members import errors
from members.iron_fan_flags import account_fans_memberships_lock, iron_fan_flags_sync
from members.models import Account, Merchant, MerchantAPIKey, MerchantStaff


@transaction.atomic
def merchant_create(*, slug: str, name: str) -> Merchant:
    """A merchant and its brand account, whose handle is the merchant's slug."""
    if Merchant.objects.filter(slug=slug).exists() or Account.objects.filter(handle=slug).exists():
        raise errors.MerchantSlugTaken()
    merchant = Merchant.objects.create(slug=slug, name=name)
    Account.objects.create(merchant=merchant, handle=slug, kind=Account.Kind.BRAND, display_name=name)
    return merchant


def merchant_api_key_create(*, merchant: Merchant, name: str) -> tuple[MerchantAPIKey, str]:
    """A new API key; the plain key is returned once and only its hash is stored."""
    return MerchantAPIKey.objects.create_key(merchant=merchant, name=name)


@transaction.atomic
def merchant_staff_create(*, merchant: Merchant, username: str, password: str) -> MerchantStaff:
    user = get_user_model().objects.create_user(username=username, password=password, is_staff=True)
    return MerchantStaff.objects.create(user=user, merchant=merchant)


@transaction.atomic
def account_create(
    *, merchant: Merchant, handle: str, kind: str, display_name: str, staff: MerchantStaff | None = None
) -> Account:
    if Account.objects.filter(handle=handle).exists():
        raise errors.AccountHandleTaken(attr="handle")
    if (
        kind == Account.Kind.BRAND
        and Account.objects.filter(merchant=merchant, kind=Account.Kind.BRAND).exists()
    ):
        raise errors.BrandAccountExists(attr="kind")
    try:
        with transaction.atomic():
            return Account.objects.create(
                merchant=merchant, handle=handle, kind=kind, display_name=display_name, staff=staff
            )
    except IntegrityError:  # lost a race for the handle or the brand slot
        raise errors.AccountHandleTaken(attr="handle") from None


@transaction.atomic
def account_delete(*, account: Account) -> None:
    """Delete an account with its follows (their scores, waiting scores and daily stats go too).

    Its iron fans may stop being iron fans of the merchant: the memberships of its
    followers are locked first (``core.locks``: memberships before follows), then the
    account and its follows are deleted, then the flags of those who were its iron fans
    are set again from the follows left; an iron fan of another of the merchant's
    accounts keeps the flag (``members.iron_fan_flags``).
    """
    iron_fans = account_fans_memberships_lock(account=account)
    account.delete()
    iron_fan_flags_sync(merchant_id=account.merchant_id, shopper_ids=iron_fans)
