"""The shopper's points ledger page (``GET /me/memberships/{merchant}/points``), read by one
written-out statement."""

import functools
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from core.sql import column, table
from loyalty.models import PointsAccount, PointsEntry
from members.errors import MembershipNotFound, MerchantNotFound
from members.models import Membership, Merchant, Shopper
from storefront.models import Order, Refund


@dataclass(slots=True)
class LedgerEntryRow:
    """One entry of a member's ledger as ``points_entry_page`` reads it (no model instances:
    the ledger is read often and only shown)."""

    id: int
    delta: int
    kind: str
    reason: str
    order_external_id: str | None
    refund_external_id: str | None
    created_at: datetime
    expires_at: datetime | None
    remaining: int | None

    def expiring_soon(self, by: datetime) -> bool:
        """A lot with points left that expires by ``by`` (or is past its date, awaiting the
        nightly expiry): what ``selectors._expiring_by`` selects."""
        if self.remaining is None or self.remaining <= 0 or self.expires_at is None:
            return False
        return self.expires_at <= by


# The ledger's order, newest first, as the CursorPage it replaced ("-id"); its cursor is this key.
LEDGER_PAGE_KEY = [PointsEntry._meta.get_field("id")]


def points_entry_page(*, shopper: Shopper, merchant_slug: str, keyset) -> list[LedgerEntryRow]:
    """One page of the shopper's ledger at the merchant with this slug (``keyset``: the page
    asked for), newest first. Former members keep seeing their history (no status filter).

    One statement, written out: as querysets the merchant, the membership and the page cost
    three statements and more CPU in their compile than PostgreSQL spent on them. The
    account is a scalar subquery (an InitPlan on PostgreSQL), so the page is read in order
    from ``pointsentry_account_recent`` whatever the account's length. An empty page says
    nothing of why: :func:`ledger_owner_check` then tells an unknown merchant and a
    non-member (the 404s) from a member with no entries (or past the end), one more
    statement on that path only.
    """
    head, key = _ledger_page_sql()
    rows = keyset.read(head, [merchant_slug, shopper.pk], key=[key], fields=_LEDGER_FIELDS)
    page = [LedgerEntryRow(*values) for values in rows]
    if not page:
        ledger_owner_check(shopper=shopper, merchant_slug=merchant_slug)
    return page


def ledger_owner_check(*, shopper: Shopper, merchant_slug: str) -> None:
    """The 404s of the ledger, as they were: ``merchant_not_found`` for an unknown slug,
    then ``membership_not_found`` when the shopper never was a member of it."""
    with connection.cursor() as cursor:
        cursor.execute(_owner_sql(), [shopper.pk, merchant_slug])
        found = cursor.fetchone()
    if found is None:
        raise MerchantNotFound(attr="merchant")
    if found[1] is None:
        raise MembershipNotFound()


# The statement's columns, as ``LedgerEntryRow`` lists them: (table alias, model, field name).
_LEDGER_COLUMNS = (
    ("e", PointsEntry, "id"),
    ("e", PointsEntry, "delta"),
    ("e", PointsEntry, "kind"),
    ("e", PointsEntry, "reason"),
    ("o", Order, "external_id"),
    ("r", Refund, "external_id"),
    ("e", PointsEntry, "created_at"),
    ("e", PointsEntry, "expires_at"),
    ("e", PointsEntry, "remaining"),
)
_LEDGER_FIELDS = [model._meta.get_field(name) for _, model, name in _LEDGER_COLUMNS]


@functools.cache
def _ledger_page_sql() -> tuple[str, str]:
    """The page statement of ``points_entry_page`` up to its WHERE's filters (the keyset's
    condition, ORDER BY and LIMIT follow), and the key's column. Parameters: the merchant's
    slug, the shopper."""
    c = column
    selected = ", ".join(f"{alias}.{c(model, name)}" for alias, model, name in _LEDGER_COLUMNS)
    account = (
        f"SELECT pa.{c(PointsAccount, 'id')} FROM {table(PointsAccount)} pa"
        f" JOIN {table(Membership)} ms ON ms.{c(Membership, 'id')} = pa.{c(PointsAccount, 'membership')}"
        f" JOIN {table(Merchant)} mc ON mc.{c(Merchant, 'id')} = ms.{c(Membership, 'merchant')}"
        f" WHERE mc.{c(Merchant, 'slug')} = %s AND ms.{c(Membership, 'shopper')} = %s"
    )
    key = f"e.{c(PointsEntry, 'id')}"
    head = (
        f"SELECT {selected} FROM {table(PointsEntry)} e"
        f" LEFT JOIN {table(Order)} o ON o.{c(Order, 'id')} = e.{c(PointsEntry, 'order')}"
        f" LEFT JOIN {table(Refund)} r ON r.{c(Refund, 'id')} = e.{c(PointsEntry, 'refund')}"
        f" WHERE e.{c(PointsEntry, 'account')} = ({account})"
    )
    return head, key


@functools.cache
def _owner_sql() -> str:
    """The merchant with the slug and the shopper's membership of it (null if none).
    Parameters: the shopper, the slug."""
    c = column
    return (
        f"SELECT mc.{c(Merchant, 'id')}, ms.{c(Membership, 'id')} FROM {table(Merchant)} mc"
        f" LEFT JOIN {table(Membership)} ms ON ms.{c(Membership, 'merchant')} = mc.{c(Merchant, 'id')}"
        f" AND ms.{c(Membership, 'shopper')} = %s"
        f" WHERE mc.{c(Merchant, 'slug')} = %s"
    )
