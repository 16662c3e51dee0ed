"""Writes for merchants, shoppers, accounts, follows, memberships and tiers."""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from knox.models import AuthToken
from knox.settings import knox_settings

from members import errors
from members.models import Account, Follow, Membership, Merchant, MerchantAPIKey, MerchantStaff, Shopper, Tier

# --- Merchants ----------------------------------------------------------------


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


# --- Shoppers -----------------------------------------------------------------


def shopper_get_or_create(*, external_id: str, display_name: str = "") -> Shopper:
    """The shopper a merchant names by platform id, created on first sight."""
    shopper, _ = Shopper.objects.get_or_create(
        external_id=external_id, defaults={"display_name": display_name}
    )
    return shopper


@transaction.atomic
def shopper_register(*, username: str, password: str) -> tuple[Shopper, str]:
    """A login for a shopper; the username is their platform id (``external_id``).

    A shopper already known from a merchant's orders (no login yet) is claimed by
    the registration, so their history follows them into the app.
    """
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise errors.UsernameTaken(attr="username")
    shopper = Shopper.objects.select_for_update().filter(external_id=username).first()
    if shopper is not None and shopper.user_id is not None:
        raise errors.UsernameTaken(attr="username")
    user = User(username=username)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise errors.WeakPassword(" ".join(exc.messages), attr="password") from None
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # a concurrent registration won the username
        raise errors.UsernameTaken(attr="username") from None
    if shopper is None:
        try:
            with transaction.atomic():
                shopper = Shopper.objects.create(user=user, external_id=username, display_name=username)
        except IntegrityError:
            # A merchant's order created this shopper meanwhile: claim it like any other.
            shopper = Shopper.objects.select_for_update().get(external_id=username)
    if shopper.user_id is None:
        shopper.user = user
        shopper.save(update_fields=["user"])
    elif shopper.user_id != user.pk:
        raise errors.UsernameTaken(attr="username")
    return shopper, _token_issue(user=user)


def shopper_token_create(*, username: str, password: str) -> str:
    """Log a shopper in: a new token for their app."""
    user = authenticate(username=username, password=password)
    if user is None or not Shopper.objects.filter(user=user).exists():
        raise errors.InvalidCredentials()
    return _token_issue(user=user)


@transaction.atomic
def _token_issue(*, user) -> str:
    """A new token; past ``REST_KNOX["TOKEN_LIMIT_PER_USER"]`` live tokens, the oldest are revoked.

    Tokens do not expire by time, so without the limit every login would add a row
    for good. The newest devices keep working rather than the login being refused.
    """
    issued, token = AuthToken.objects.create(user=user)
    limit = knox_settings.TOKEN_LIMIT_PER_USER
    if limit is not None:
        older = AuthToken.objects.filter(user=user).exclude(pk=issued.pk).order_by("-created", "-pk")
        AuthToken.objects.filter(pk__in=list(older.values_list("pk", flat=True)[limit - 1 :])).delete()
    return token


# --- Accounts -----------------------------------------------------------------


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


# --- Follows ------------------------------------------------------------------


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


# --- Memberships --------------------------------------------------------------


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
    locked = Merchant.objects.select_for_update().only("pk", "last_member_number").get(pk=merchant.pk)
    existing = Membership.objects.filter(shopper=shopper, merchant=merchant).first()
    now = timezone.now()
    if existing is not None:
        if existing.status == Membership.Status.ACTIVE:
            return JoinResult(existing, joined=False, first_time=False)
        existing.status = Membership.Status.ACTIVE
        existing.joined_at = now
        existing.left_at = None
        existing.save(update_fields=["status", "joined_at", "left_at"])
        return JoinResult(existing, joined=True, first_time=False)
    locked.last_member_number += 1
    locked.save(update_fields=["last_member_number"])
    membership = Membership.objects.create(
        shopper=shopper,
        merchant=merchant,
        number=locked.last_member_number,
        tier=_entry_tier(merchant),
        joined_at=now,
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


def _entry_tier(merchant: Merchant) -> Tier | None:
    """The tier a new member starts in: the highest one that needs no spend."""
    return Tier.objects.filter(merchant=merchant, min_spend_12m=0).order_by("-rank").first()


# --- Tiers --------------------------------------------------------------------


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
        entry = _entry_tier(merchant)
        Membership.objects.filter(merchant=merchant).filter(
            Q(tier__isnull=True) | Q(tier__min_spend_12m=0, tier__rank__lt=entry.rank)
        ).update(tier=entry)
    return tier
