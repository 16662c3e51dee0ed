"""Webhook errors; codes are part of the API."""

from core.errors import Conflict, DomainError, NotFound


class WebhookUrlNotAllowed(DomainError):
    code = "webhook_url_not_allowed"
    default_detail = (
        "Webhooks go to https:// URLs on public addresses only (no private, loopback or link-local)."
    )


class WebhookEndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    default_detail = "No webhook endpoint with this id."


class WebhookEndpointLimitReached(Conflict):
    code = "webhook_endpoint_limit_reached"
    default_detail = "This merchant has as many webhook endpoints as allowed; delete one first."
