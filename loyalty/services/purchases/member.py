"""The member behind an order: their points account and membership, locked, in one query."""

from django.db.models import OuterRef

from loyalty.locks import points_accounts_lock
from loyalty.models import PointsAccount, Program
from loyalty.services.memberships import points_account_open, program_get_or_create
from members import selectors as members_selectors
from members.engagement import selectors as engagement_selectors
from members.models import Membership, Merchant

# What the pipeline reads with the locked points account, in the same query.
MEMBER_ROWS = (
    "membership__shopper",
    "membership__tier",
    "membership__merchant__program__repurchase_template",
)


def member_points_account(*, merchant: Merchant, shopper_external_id: str) -> PointsAccount | None:
    """The shopper's points account and membership with this merchant, both locked.

    The membership's lock is the one every coupon issue to this shopper takes, so the
    repurchase coupon respects the per-member limit; the account's guards the ledger.
    """
    return _locked_member_account(
        membership__merchant=merchant, membership__shopper__external_id=shopper_external_id
    )


def points_account_for_member(*, merchant: Merchant, shopper_id: int) -> PointsAccount | None:
    """A member whose points account was never opened (a membership from before the
    ledger, or made by hand) gets one now; a non-member gets none."""
    membership = Membership.objects.filter(merchant=merchant, shopper_id=shopper_id).only("pk").first()
    if membership is None:
        return None
    points_account_open(membership=membership)
    return _locked_member_account(membership=membership)


def _locked_member_account(**lookup) -> PointsAccount | None:
    return (
        points_accounts_lock(with_membership=True)
        .select_related(*MEMBER_ROWS)
        .annotate(
            # Read in the same statement, so the order's attribution and its tier
            # check cost no statement of their own.
            brand_account_id=engagement_selectors.brand_account_id(
                merchant=OuterRef("membership__merchant_id")
            ),
            follows_brand=engagement_selectors.follows_brand(
                shopper=OuterRef("membership__shopper_id"), merchant=OuterRef("membership__merchant_id")
            ),
            top_tier_rank=members_selectors.tier_top_rank(merchant=OuterRef("membership__merchant_id")),
        )
        .filter(**lookup)
        .first()
    )


def program_for(*, merchant: Merchant, account: PointsAccount | None) -> Program:
    if account is not None:
        try:
            return account.membership.merchant.program
        except Merchant.program.RelatedObjectDoesNotExist:
            pass
    return program_get_or_create(merchant_id=merchant.pk)
