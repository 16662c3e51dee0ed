"""Registering, removing and rotating a merchant's webhook endpoints.

Every change recomputes ``Merchant.webhook_events`` (the types some active endpoint
wants) in the same transaction, under the merchant's row lock so that two changes do
not write a stale union.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from core.services import model_update
from members.locks import merchants_lock
from members.models import Merchant
from members.webhooks import errors
from members.webhooks.addresses import url_check
from members.webhooks.models import WebhookEndpoint
from members.webhooks.signing import secret_new

MAX_ENDPOINTS = 20
# How long the previous secret still signs after a rotation.
ROTATION_OVERLAP = timedelta(hours=24)


def webhook_subscriptions_refresh(*, merchant_id: int) -> None:
    merchants_lock().only("pk").get(pk=merchant_id)
    wanted: set[str] = set()
    for events in WebhookEndpoint.objects.filter(merchant_id=merchant_id, active=True).values_list(
        "events", flat=True
    ):
        wanted.update(events)
    Merchant.objects.filter(pk=merchant_id).update(webhook_events=sorted(wanted))


@transaction.atomic
def webhook_endpoint_create(
    *, merchant: Merchant, url: str, events: list[str], secret: str | None = None
) -> WebhookEndpoint:
    url_check(url)
    merchants_lock().only("pk").get(pk=merchant.pk)
    if WebhookEndpoint.objects.filter(merchant=merchant).count() >= MAX_ENDPOINTS:
        raise errors.WebhookEndpointLimitReached()
    endpoint = WebhookEndpoint.objects.create(
        merchant=merchant,
        url=url,
        events=sorted(set(events)),
        secret=secret or secret_new(),
        created_at=timezone.now(),
    )
    webhook_subscriptions_refresh(merchant_id=merchant.pk)
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, merchant: Merchant, endpoint_id: int) -> None:
    deleted, _ = WebhookEndpoint.objects.filter(merchant=merchant, pk=endpoint_id).delete()
    if not deleted:
        raise errors.WebhookEndpointNotFound()
    webhook_subscriptions_refresh(merchant_id=merchant.pk)


@transaction.atomic
def webhook_secret_rotate(
    *, endpoint: WebhookEndpoint, secret: str | None = None, now: datetime | None = None
) -> WebhookEndpoint:
    """A new secret signs from now; the old one also signs for ``ROTATION_OVERLAP``."""
    now = now or timezone.now()
    model_update(
        instance=endpoint,
        fields=("secret", "previous_secret", "previous_secret_expires_at"),
        data={
            "previous_secret": endpoint.secret,
            "previous_secret_expires_at": now + ROTATION_OVERLAP,
            "secret": secret or secret_new(),
        },
    )
    return endpoint


@transaction.atomic
def webhook_endpoint_enable(*, endpoint: WebhookEndpoint) -> None:
    """Back on after being disabled (staff, once the receiver is fixed)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        active=True, disabled_reason="", disabled_at=None, failing_since=None
    )
    webhook_subscriptions_refresh(merchant_id=endpoint.merchant_id)


@transaction.atomic
def webhook_endpoint_disable(*, endpoint_id: int, reason: str, now: datetime | None = None) -> bool:
    """Turn an endpoint off with the reason shown to the merchant; False if it was off."""
    changed = WebhookEndpoint.objects.filter(pk=endpoint_id, active=True).update(
        active=False, disabled_reason=reason[:500], disabled_at=now or timezone.now()
    )
    if changed:
        merchant_id = WebhookEndpoint.objects.values_list("merchant_id", flat=True).get(pk=endpoint_id)
        webhook_subscriptions_refresh(merchant_id=merchant_id)
    return bool(changed)


def signing_secrets(endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous during a rotation."""
    found = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        found.append(endpoint.previous_secret)
    return found
