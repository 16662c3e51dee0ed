"""The account an order counts for, on the fan scores (docs/iron-fans.md)."""

from django.db.models import OuterRef

from loyalty import errors
from loyalty.services.purchases.effects import Attribution
from loyalty.services.purchases.member import MemberRow
from members.engagement import selectors as engagement_selectors
from members.models import Account, Merchant


def via_account_for(*, merchant: Merchant, handle: str | None, shopper_id: int) -> Account | None:
    """The account the merchant says brought the order, with whether the buyer follows it."""
    if not handle:
        return None
    account = (
        Account.objects.filter(merchant=merchant, handle=handle)
        .annotate(followed=engagement_selectors.follows_account(shopper=shopper_id, account=OuterRef("pk")))
        .only("pk")
        .first()
    )
    if account is None:
        raise errors.UnknownViaAccount(attr="via_account")
    return account


def attribution_for(
    *, merchant: Merchant, shopper_id: int, via_account: Account | None, member: MemberRow | None
) -> Attribution:
    """The account the order counts for: ``via_account``, else the brand account.

    Read with the rows the pipeline reads anyway (the via account, the member's row);
    only a non-member's order without ``via_account`` takes a query for it.
    """
    if via_account is not None:
        return Attribution(via_account.pk, via_account.followed)
    if member is not None:
        return Attribution(member.brand_account_id, member.follows_brand)
    brand = engagement_selectors.brand_account_for(merchant=merchant, shopper_id=shopper_id)
    return Attribution(*brand) if brand else Attribution(None, False)
