"""Webhook tasks: thin, idempotent (a delivery is claimed before it is sent)."""

from celery import shared_task

from members.webhooks.delivery import webhook_deliver, webhook_fan_out, webhook_retry_due


@shared_task(name="members.webhook_fan_out", acks_late=True)
def fan_out(event_ids: list[int]) -> int:
    return webhook_fan_out(event_ids=event_ids)


@shared_task(name="members.webhook_deliver", acks_late=True)
def deliver(delivery_ids: list[int]) -> dict:
    result = webhook_deliver(delivery_ids=delivery_ids)
    return {"delivered": result.delivered, "retrying": result.retrying, "failed": result.failed}


@shared_task(name="members.webhook_retry_due", acks_late=True)
def retry_due() -> int:
    return webhook_retry_due()
