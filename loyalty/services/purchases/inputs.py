"""What an order says, as the pipeline takes it, and what the pipeline answers."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.fingerprint import request_fingerprint


@dataclass(frozen=True)
class OrderLineInput:
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class OrderInput:
    external_id: str
    shopper: str
    lines: tuple[OrderLineInput, ...]
    paid_at: datetime | None = None
    via_account: str | None = None
    coupon_codes: tuple[str, ...] = field(default_factory=tuple)

    def fingerprint(self) -> str:
        """A hash of the order as the merchant stated it; line order does not matter."""
        canonical = {
            "external_id": self.external_id,
            "shopper": self.shopper,
            "paid_at": self.paid_at.isoformat() if self.paid_at else None,
            "via_account": self.via_account,
            "lines": sorted(
                [line.sku, line.quantity, str(line.unit_price.normalize())] for line in self.lines
            ),
            "coupon_codes": list(self.coupon_codes),
        }
        return request_fingerprint(canonical)


@dataclass(frozen=True)
class PurchaseResult:
    response: dict
    created: bool
