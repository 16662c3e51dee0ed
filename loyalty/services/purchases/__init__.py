"""The purchase pipeline: an order in, and everything it earns, in one transaction.

``purchase_record`` is the only way an order enters Fanbase. A reader can follow an
order from here to every row it writes:

1. the shopper (created on first sight) and, for a member, one fixed statement: the
   locked points account and membership, with tier, program, the attribution's brand
   account, the top tier rank and the order's products (on SQLite its coupons too;
   ``member.py``);
2. for a non-member, the products by sku (all of this merchant, or the order is refused);
3. the coupons given, locked and checked (any rejection refuses the whole order);
4. the repurchase coupon, on a shopper's first order with the merchant, member or not
   (on a member's first order as a member when the program says members only), at
   once or promised for later;
5. the order and its lines (``order_rows.py``: one statement on PostgreSQL), with the
   answer stored for replays; the coupons redeemed;
6. points earned on the total after discounts:
   ``floor(total * points_per_unit * tier multiplier)``, members only;
7. the tier upgrade when the rolling 12-month spend reaches a higher tier (skipped,
   without a statement, when the member is in the top tier already);
8. the side effects (``effects.py``, one statement on PostgreSQL): the "frequently
   purchased" statistics, the shopper's preferences (the products' categories and
   tags), and the fan score and a ``purchase`` engagement event for the account the
   order is attributed to (``via_account`` or, without one, the brand account, stored
   on the order; docs/iron-fans.md).

Idempotency: ``(merchant, external_id)`` is unique. A replay of the same body returns
the stored answer; another body under that id is a conflict. Two identical requests
racing both try to insert; the loser fails on the unique constraint (or on its coupon,
now used by the winner) and answers as a replay of the winner's order.
"""

from loyalty.services.purchases.inputs import OrderInput, OrderLineInput, PurchaseResult
from loyalty.services.purchases.record import MAX_POINTS, NOT_A_MEMBER, points_for, purchase_record

__all__ = [
    "MAX_POINTS",
    "NOT_A_MEMBER",
    "OrderInput",
    "OrderLineInput",
    "PurchaseResult",
    "points_for",
    "purchase_record",
]
