"""Reads of a merchant's webhook endpoints and their delivery logs."""

from django.db.models import QuerySet

from members.models import Merchant
from members.webhooks import errors
from members.webhooks.models import WebhookDelivery, WebhookEndpoint

ID_MAX = 2**63 - 1


def webhook_endpoint_list(*, merchant: Merchant) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(merchant=merchant)


def webhook_endpoint_get(*, merchant: Merchant, endpoint_id: str | int) -> WebhookEndpoint:
    """The merchant's endpoint; another merchant's, or an id that is not one, is not found."""
    text = str(endpoint_id)
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= ID_MAX:
        raise errors.WebhookEndpointNotFound(attr="id")
    endpoint = webhook_endpoint_list(merchant=merchant).filter(pk=int(text)).first()
    if endpoint is None:
        raise errors.WebhookEndpointNotFound(attr="id")
    return endpoint


def webhook_delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """An endpoint's delivery log (``webhookdelivery_log``), with each event."""
    return WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")
