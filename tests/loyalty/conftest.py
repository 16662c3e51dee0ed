"""The loyalty tests' world: a merchant with a program and a small catalog, a member."""

from decimal import Decimal

import pytest

from loyalty.models import PointsAccount
from loyalty.services.memberships import membership_enrol
from loyalty.services.purchases import OrderInput, OrderLineInput
from tests.coupons.factories import CouponTemplateFactory
from tests.loyalty.factories import ProgramFactory
from tests.storefront.factories import ProductFactory

ORDERS = "/api/v1/merchant/orders"


@pytest.fixture
def program(merchant):
    """One point per currency unit, lots that last a year, no join bonus."""
    return ProgramFactory(
        merchant=merchant, points_per_unit=Decimal("1"), points_expiry_days=365, join_bonus_points=0
    )


@pytest.fixture
def catalog(merchant, program):
    """Products S0, S1, S2 of ``merchant`` at 10.00."""
    return [ProductFactory(merchant=merchant, sku=f"S{i}", price=Decimal("10.00")) for i in range(3)]


@pytest.fixture
def member(merchant, shopper, catalog):
    """``shopper`` as an active member of ``merchant``, with a points account."""
    return membership_enrol(shopper=shopper, merchant=merchant).membership


def points_account(membership) -> PointsAccount:
    return PointsAccount.objects.get(membership=membership)


def order_input(shopper_external_id: str, external_id: str = "o-1", lines=None, **extra) -> OrderInput:
    """An order for the service; ``lines`` as (sku, quantity, unit price) tuples."""
    lines = lines or [("S0", 2, "10.50"), ("S1", 1, "3.25")]
    return OrderInput(
        external_id=external_id,
        shopper=shopper_external_id,
        lines=tuple(OrderLineInput(sku=s, quantity=q, unit_price=Decimal(p)) for s, q, p in lines),
        **extra,
    )


def order_body(shopper_external_id: str, external_id: str = "o-1", lines=None, **extra) -> dict:
    """An order for the API; ``lines`` as (sku, quantity, unit price) tuples."""
    lines = lines or [("S0", 2, "10.50"), ("S1", 1, "3.25")]
    return {
        "external_id": external_id,
        "shopper": shopper_external_id,
        "lines": [{"sku": s, "quantity": q, "unit_price": p} for s, q, p in lines],
        "coupon_codes": [],
        **extra,
    }


@pytest.fixture
def repurchase(merchant, program, catalog):
    """The program's repurchase coupon: 3.00 off, 14 days, issued at once (the repurchase
    and join coupon tests share it)."""
    template = CouponTemplateFactory(
        merchant=merchant, name="Come back", value=Decimal("3.00"), valid_days=14
    )
    program.repurchase_template = template
    program.save()
    return template
