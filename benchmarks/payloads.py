"""The benchmark's orders: 3 lines each, for existing members or newcomers with a coupon, seeded."""

import random
from dataclasses import dataclass
from decimal import Decimal

from benchmarks.fixtures import Fixtures, Member, Newcomer
from loyalty.services.purchases import OrderInput, OrderLineInput

LINES_PER_ORDER = 3


@dataclass(frozen=True)
class OrderSpec:
    external_id: str
    member: Member
    lines: tuple[tuple[str, int, int, Decimal], ...]  # (sku, product_id, quantity, unit_price)
    coupon_codes: tuple[str, ...] = ()

    @property
    def total(self) -> Decimal:
        return sum((q * price for _, _, q, price in self.lines), Decimal("0"))

    def as_input(self) -> OrderInput:
        return OrderInput(
            external_id=self.external_id,
            shopper=self.member.external_id,
            lines=tuple(
                OrderLineInput(sku=sku, quantity=q, unit_price=price) for sku, _, q, price in self.lines
            ),
            coupon_codes=self.coupon_codes,
        )

    def as_json(self) -> dict:
        return {
            "external_id": self.external_id,
            "shopper": self.member.external_id,
            "lines": [
                {"sku": sku, "quantity": q, "unit_price": str(price)} for sku, _, q, price in self.lines
            ],
            "coupon_codes": list(self.coupon_codes),
        }


def order_specs(*, data: Fixtures, seed: int, prefix: str, count: int, offset: int = 0) -> list[OrderSpec]:
    """``count`` orders; order i goes to member ``offset + i`` (wrapping), lines drawn from the catalog."""
    rng = random.Random(f"{seed}:{prefix}")
    specs = []
    for i in range(count):
        member = data.members[(offset + i) % len(data.members)]
        picks = rng.sample(data.products, LINES_PER_ORDER)
        lines = tuple((sku, pid, rng.randint(1, 3), price) for sku, price, pid in picks)
        specs.append(OrderSpec(external_id=f"{prefix}-{data.run_id}-{i}", member=member, lines=lines))
    return specs


def coupon_order_specs(
    *, data: Fixtures, seed: int, prefix: str, newcomers: list[Newcomer]
) -> list[OrderSpec]:
    """One first order per newcomer, redeeming their coupon: a line it covers, over its
    min spend, and two others (so every order is accepted)."""
    rng = random.Random(f"{seed}:{prefix}")
    return [
        OrderSpec(
            external_id=f"{prefix}-{data.run_id}-{i}",
            member=newcomer.member,
            lines=data.coverage[newcomer.template_id].lines(rng, data.products),
            coupon_codes=(newcomer.coupon_code,),
        )
        for i, newcomer in enumerate(newcomers)
    ]
