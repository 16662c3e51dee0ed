"""The webhook events of an order and of a refund (``order.recorded``, ``coupon.redeemed``,
``refund.recorded``), written in their transaction.

The pipeline holds the merchant: when none of its endpoints listens, this costs no
statement (``members.webhooks.events.webhook_wanted``).
"""

from datetime import datetime

from members.models import Merchant, Shopper
from members.webhooks.events import webhook_emit, webhook_wanted
from members.webhooks.models import EventType


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def order_events_emit(
    *, merchant: Merchant, shopper_external_id: str, paid_at: datetime, response: dict, now: datetime
) -> None:
    if webhook_wanted(merchant=merchant, type=EventType.ORDER_RECORDED):
        webhook_emit(
            merchant=merchant,
            type=EventType.ORDER_RECORDED,
            payload={"shopper": shopper_external_id, "paid_at": _iso(paid_at), **response},
            now=now,
        )
    if response["coupons_redeemed"] and webhook_wanted(merchant=merchant, type=EventType.COUPON_REDEEMED):
        for code in response["coupons_redeemed"]:
            webhook_emit(
                merchant=merchant,
                type=EventType.COUPON_REDEEMED,
                payload={"code": code, "shopper": shopper_external_id, "order": response["external_id"]},
                now=now,
            )


def refund_events_emit(
    *, merchant: Merchant, order_external_id: str, shopper_id: int, response: dict, now: datetime
) -> None:
    def payload() -> dict:
        shopper = Shopper.objects.values_list("external_id", flat=True).get(pk=shopper_id)
        return {"order": order_external_id, "shopper": shopper, **response}

    webhook_emit(merchant=merchant, type=EventType.REFUND_RECORDED, payload=payload, now=now)
