"""The points ledger under random sequences of earn, spend, adjust, refund and expire.

A Hypothesis state machine drives one member's account through the real services
(``purchase_record``, ``points_spend``, ``points_adjust``, ``refund_record``,
``points_expire_due``) and checks the ledger's invariants after every step:

- ``balance == sum(delta)`` (and equals what the steps reported, added up);
- ``sum(lot.remaining) == max(balance, 0)``; every lot has ``0 <= remaining <= delta``,
  so no lot holds points while the balance is negative (a debt);
- a refused spend or adjustment raises ``InsufficientPoints`` and writes nothing;
- ``lifetime_earned >= 0``;
- expiry closes exactly the lots past their date, one ``expire`` entry per lot, and a
  second run changes nothing.

The run is seeded (``@seed``) and keeps no example database, so it replays the same
sequences every time; a failure prints the steps that reproduce it. Each example
runs in a savepoint that is rolled back, inside the test's own transaction.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from loyalty.errors import InsufficientPoints, RefundExceedsPurchase
from loyalty.models import PointsAccount, PointsEntry
from loyalty.services.expiry import points_expire_due
from loyalty.services.memberships import membership_enrol
from loyalty.services.points import points_adjust, points_spend
from loyalty.services.purchases import OrderInput, OrderLineInput, purchase_record
from loyalty.services.refunds import RefundInput, RefundLineInput, refund_record
from members import services as members_services
from members.models import Membership
from storefront.models import Order
from tests.loyalty.factories import ProgramFactory
from tests.members.factories import MerchantFactory, ShopperFactory
from tests.storefront.factories import ProductFactory

SKUS = ("S0", "S1", "S2")
EXPIRY_DAYS = 3
PRICES = st.integers(min_value=0, max_value=4000).map(lambda cents: Decimal(cents) / 100)
ORDER_LINES = st.lists(
    st.tuples(st.sampled_from(SKUS), st.integers(min_value=1, max_value=4), PRICES),
    min_size=1,
    max_size=3,
    unique_by=lambda line: line[0],
)


# A spend or adjustment asks for a share of the balance, in percent: up to all of it
# most of the time, and now and then more than there is.
SHARES = st.integers(min_value=1, max_value=130)


def share_of(balance: int, percent: int) -> int:
    return max(1, max(balance, 0) * percent // 100)


def ledger_writes() -> tuple[int, int]:
    return PointsEntry.objects.count(), Order.objects.count()


@seed(20260303)
class PointsLedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.savepoint = transaction.atomic()
        self.savepoint.__enter__()
        self.merchant = MerchantFactory()
        ProgramFactory(
            merchant=self.merchant,
            points_per_unit=Decimal("1"),
            points_expiry_days=EXPIRY_DAYS,
            join_bonus_points=5,
        )
        for sku in SKUS:
            ProductFactory(merchant=self.merchant, sku=sku)
        self.shopper = ShopperFactory()
        self.membership = membership_enrol(shopper=self.shopper, merchant=self.merchant).membership
        self.account = PointsAccount.objects.get(membership=self.membership)
        self.expected_balance = 5  # the join bonus
        self.clock = timezone.now()
        self.orders: dict[str, OrderInput] = {}
        self.left_to_refund: dict[str, dict[str, int]] = {}
        self.refunds = 0

    def teardown(self):
        transaction.set_rollback(True)
        self.savepoint.__exit__(None, None, None)

    def balance(self) -> int:
        return PointsAccount.objects.get(pk=self.account.pk).balance

    # --- Steps -----------------------------------------------------------------

    @rule(lines=ORDER_LINES)
    def earn(self, lines):
        external_id = f"o-{len(self.orders) + 1}"
        order = OrderInput(
            external_id=external_id,
            shopper=self.shopper.external_id,
            lines=tuple(OrderLineInput(sku=sku, quantity=q, unit_price=price) for sku, q, price in lines),
        )
        active = Membership.objects.get(pk=self.membership.pk).status == Membership.Status.ACTIVE

        result = purchase_record(merchant=self.merchant, order=order)

        assert result.created
        total = sum(q * price for _, q, price in lines)
        assert result.response["points_earned"] == (int(total) if active else 0)
        self.expected_balance += result.response["points_earned"]
        self.orders[external_id] = order
        self.left_to_refund[external_id] = {sku: q for sku, q, _ in lines}

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def replay_an_order(self, data):
        external_id = data.draw(st.sampled_from(sorted(self.orders)))
        stored = Order.objects.get(merchant=self.merchant, external_id=external_id).response
        before = ledger_writes()

        result = purchase_record(merchant=self.merchant, order=self.orders[external_id])

        assert not result.created
        assert result.response == stored
        assert ledger_writes() == before

    @rule(share=SHARES)
    def spend(self, share):
        balance, before = self.balance(), ledger_writes()
        points = share_of(balance, share)
        if points > balance:
            with pytest.raises(InsufficientPoints):
                points_spend(account=self.account, points=points, reason="reward", now=self.clock)
            assert (self.balance(), ledger_writes()) == (balance, before)
            return
        points_spend(account=self.account, points=points, reason="reward", now=self.clock)
        self.expected_balance -= points

    @rule(share=SHARES, add=st.booleans())
    def adjust(self, share, add):
        balance, before = self.balance(), ledger_writes()
        delta = share_of(balance, share) if add else -share_of(balance, share)
        if balance + delta < 0:
            with pytest.raises(InsufficientPoints):
                points_adjust(account=self.account, delta=delta, reason="correction", now=self.clock)
            assert (self.balance(), ledger_writes()) == (balance, before)
            return
        points_adjust(account=self.account, delta=delta, reason="correction", now=self.clock)
        self.expected_balance += delta

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), too_much=st.integers(min_value=0, max_value=5).map(lambda n: n == 0))
    def refund(self, data, too_much):
        external_id = data.draw(st.sampled_from(sorted(self.orders)))
        left = self.left_to_refund[external_id]
        skus = data.draw(st.lists(st.sampled_from(sorted(left)), min_size=1, unique=True))
        if too_much or not any(left[sku] for sku in skus):
            lines = tuple(RefundLineInput(sku=sku, quantity=left[sku] + 1) for sku in skus)
        else:
            skus = [sku for sku in skus if left[sku]]
            lines = tuple(
                RefundLineInput(sku=sku, quantity=data.draw(st.integers(min_value=1, max_value=left[sku])))
                for sku in skus
            )
        self.refunds += 1
        refund = RefundInput(external_id=f"r-{self.refunds}", lines=lines)
        if any(line.quantity > left[line.sku] for line in lines):
            before = ledger_writes()
            with pytest.raises(RefundExceedsPurchase):
                refund_record(merchant=self.merchant, order_external_id=external_id, refund=refund)
            assert ledger_writes() == before
            return

        result = refund_record(merchant=self.merchant, order_external_id=external_id, refund=refund)

        self.expected_balance -= result.response["points_reversed"]
        for line in lines:
            left[line.sku] -= line.quantity
        order = Order.objects.get(merchant=self.merchant, external_id=external_id)
        reversed_total = -(
            PointsEntry.objects.filter(order=order, kind="reverse").aggregate(s=Sum("delta"))["s"] or 0
        )
        assert reversed_total == order.points_reversed <= order.points_earned
        if not any(left.values()):
            # a full refund, however split, takes back exactly what the order earned
            assert reversed_total == order.points_earned

    @rule(days=st.integers(min_value=0, max_value=EXPIRY_DAYS + 1))
    def expire(self, days):
        self.clock += timedelta(days=days)
        lots = PointsEntry.objects.filter(account=self.account, delta__gt=0)
        due = dict(lots.filter(remaining__gt=0, expires_at__lte=self.clock).values_list("pk", "remaining"))
        not_due = dict(lots.exclude(pk__in=due).values_list("pk", "remaining"))

        result = points_expire_due(now=self.clock)

        assert (result.lots, result.points) == (len(due), sum(due.values()))
        self.expected_balance -= result.points
        expired = PointsEntry.objects.filter(account=self.account, kind="expire", lot_id__in=due)
        assert sorted(expired.values_list("lot_id", "delta")) == sorted((pk, -r) for pk, r in due.items())
        assert not lots.filter(pk__in=due, remaining__gt=0).exists()
        assert dict(lots.filter(pk__in=not_due).values_list("pk", "remaining")) == not_due
        before = ledger_writes()
        again = points_expire_due(now=self.clock)
        assert (again.lots, again.points, ledger_writes()) == (0, 0, before)

    @rule()
    def leave_and_come_back(self):
        if Membership.objects.get(pk=self.membership.pk).status == Membership.Status.ACTIVE:
            members_services.membership_leave(shopper=self.shopper, merchant=self.merchant)
        else:
            # a rejoin never pays the join bonus again
            membership_enrol(shopper=self.shopper, merchant=self.merchant)

    # --- Invariants ---------------------------------------------------------------

    @invariant()
    def ledger_is_consistent(self):
        account = PointsAccount.objects.get(pk=self.account.pk)
        entries = list(PointsEntry.objects.filter(account=account).values_list("delta", "remaining"))
        lots = [(delta, remaining) for delta, remaining in entries if delta > 0]
        # the balance is the ledger's sum, and what the steps reported, added up
        assert account.balance == sum(delta for delta, _ in entries) == self.expected_balance
        # lots hold exactly the positive balance: nothing while in debt
        assert all(0 <= remaining <= delta for delta, remaining in lots)
        assert sum(remaining for _, remaining in lots) == max(account.balance, 0)
        assert all(remaining is None for delta, remaining in entries if delta < 0)
        assert account.lifetime_earned >= 0


def test_ledger_invariants_hold_over_random_sequences(db):
    run_state_machine_as_test(
        PointsLedgerMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=20,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
