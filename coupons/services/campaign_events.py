"""A campaign run's webhook events: its coupons (``coupon.issued``) and its end
(``campaign.run.finished``).

Both are written in the transaction that caused them: a chunk's coupons with the chunk
(one read of what it kept and one ``INSERT`` of events, however many coupons), the end
with the statement that ended the run. A chunk that rolls back, or a run that does not
end, sends nothing. Without a listener they cost no statement when the merchant is in
hand (the chunk and the start hold it), one small read otherwise.
"""

from datetime import datetime

from coupons.models import CampaignRun, Coupon
from members.models import Merchant
from members.webhooks.events import webhook_emit, webhook_events_write, webhook_wanted
from members.webhooks.models import EventType


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def campaign_run_finished_emit(*, run: CampaignRun, merchant: Merchant | int) -> None:
    """``campaign.run.finished`` for a run that has just ended: done, cancelled or failed
    (a failed run may be resumed and then end again, with a second event)."""

    def payload() -> dict:
        return {
            "run": run.pk,
            "campaign": run.campaign_id,
            "campaign_name": run.campaign.name,
            "status": run.status,
            "audience_size": run.audience_size,
            "issued": run.issued,
            "skipped": run.skipped,
            "skipped_limit": run.skipped_limit,
            "skipped_stock": run.skipped_stock,
            "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at),
            "error": run.error,
        }

    type = EventType.CAMPAIGN_RUN_FINISHED
    webhook_emit(merchant=merchant, type=type, payload=payload, now=run.finished_at)


def campaign_chunk_coupons_emit(
    *, merchant: Merchant, run: CampaignRun, shoppers: tuple[int, int], now: datetime
) -> int:
    """``coupon.issued`` for each coupon one chunk of ``run`` kept (``shoppers``: the
    chunk's first and last shopper id; one coupon per run and shopper); how many."""
    if not webhook_wanted(merchant=merchant, type=EventType.COUPON_ISSUED):
        return 0
    template = run.campaign.template
    kept = (
        Coupon.objects.filter(campaign_run=run, shopper_id__gte=shoppers[0], shopper_id__lte=shoppers[1])
        .order_by("shopper_id")
        .values_list("code", "shopper__external_id", "source", "expires_at")
    )
    payloads = [
        {
            "code": code,
            "template": template.pk,
            "template_name": template.name,
            "shopper": shopper,
            "source": source,
            "expires_at": _iso(expires_at),
            "campaign": run.campaign_id,
            "run": run.pk,
        }
        for code, shopper, source, expires_at in kept
    ]
    webhook_events_write(merchant_id=merchant.pk, type=EventType.COUPON_ISSUED, payloads=payloads, now=now)
    return len(payloads)
