"""What an order must be, shared by the real order and the coupon dry run.

Pure checks over the stated order: both ``purchase_record`` and ``cart_validate`` call
them, so a cart the dry run answers is one the order would accept, and neither can
reach a column with a value it cannot hold.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from core.fields import column_range
from storefront import errors
from storefront.models import Order

# The largest amount the money columns hold (numeric(12, 2)).
MAX_MONEY: Decimal = column_range(Order._meta.get_field("subtotal"))[1]
# An order is paid now or in the past: a few minutes of the shop's clock running ahead is
# allowed, a far-future time (it would count towards the rolling tier spend forever) is not.
MAX_CLOCK_SKEW = timedelta(minutes=5)
EARLIEST_PAID_AT = datetime(2000, 1, 1, tzinfo=UTC)


def order_amount_check(subtotal: Decimal) -> None:
    if subtotal > MAX_MONEY:
        raise errors.OrderTooLarge(f"The subtotal {subtotal} exceeds {MAX_MONEY}.", attr="lines")


def paid_at_check(paid_at: datetime, *, now: datetime) -> None:
    if paid_at > now + MAX_CLOCK_SKEW:
        raise errors.PaidAtOutOfRange("paid_at is in the future.", attr="paid_at")
    if paid_at < EARLIEST_PAID_AT:
        raise errors.PaidAtOutOfRange(f"paid_at is before {EARLIEST_PAID_AT:%Y-%m-%d}.", attr="paid_at")
