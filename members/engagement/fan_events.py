"""``iron_fan.promoted`` and ``iron_fan.demoted`` for the merchant's webhooks.

The recompute changes a range of follows with two set-based ``UPDATE``s; the events of
the range are written in the same transaction with one read of the changed fans' names
and one ``INSERT`` per type (``members.webhooks.events``). With the merchant in hand and
nobody listening it costs no statement, so the hourly job pays only for what is wanted.
"""

from dataclasses import dataclass
from datetime import datetime

from members.models import Account, Merchant, Shopper
from members.webhooks.events import webhook_events_write, webhook_wanted
from members.webhooks.models import EventType


@dataclass(frozen=True)
class FanChange:
    """A follow whose status the recompute changed: its account, shopper and the decayed
    score that decided it."""

    account_id: int
    shopper_id: int
    score: float
    promoted: bool


def iron_fan_changes_emit(*, merchant: Merchant, changes: list[FanChange], now: datetime) -> int:
    """The events of these changes that some endpoint of the merchant wants; how many."""
    wanted = {
        True: webhook_wanted(merchant=merchant, type=EventType.IRON_FAN_PROMOTED),
        False: webhook_wanted(merchant=merchant, type=EventType.IRON_FAN_DEMOTED),
    }
    chosen = [change for change in changes if wanted[change.promoted]]
    if not chosen:
        return 0
    accounts = {
        pk: (handle, kind)
        for pk, handle, kind in Account.objects.filter(pk__in={c.account_id for c in chosen}).values_list(
            "pk", "handle", "kind"
        )
    }
    shoppers = dict(
        Shopper.objects.filter(pk__in={c.shopper_id for c in chosen}).values_list("pk", "external_id")
    )
    at = now.isoformat().replace("+00:00", "Z")
    payloads: dict[bool, list[dict]] = {True: [], False: []}
    for change in sorted(chosen, key=lambda c: (c.account_id, c.shopper_id)):
        handle, kind = accounts[change.account_id]
        payloads[change.promoted].append(
            {
                "shopper": shoppers[change.shopper_id],
                "account": handle,
                "account_kind": kind,
                "score": round(change.score, 2),
                "at": at,
            }
        )
    for promoted, type in ((True, EventType.IRON_FAN_PROMOTED), (False, EventType.IRON_FAN_DEMOTED)):
        webhook_events_write(merchant_id=merchant.pk, type=type, payloads=payloads[promoted], now=now)
    return len(chosen)
