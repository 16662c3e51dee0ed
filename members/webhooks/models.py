"""Webhook endpoints, the events written for them, and each endpoint's deliveries."""

import uuid

from django.db import models
from django.db.models import Q

from members.models import Merchant, scoped_manager


class EventType(models.TextChoices):
    ORDER_RECORDED = "order.recorded"
    REFUND_RECORDED = "refund.recorded"
    COUPON_ISSUED = "coupon.issued"
    COUPON_REDEEMED = "coupon.redeemed"
    TIER_CHANGED = "tier.changed"
    IRON_FAN_PROMOTED = "iron_fan.promoted"
    IRON_FAN_DEMOTED = "iron_fan.demoted"
    CAMPAIGN_RUN_FINISHED = "campaign.run.finished"
    POINTS_EXPIRING = "points.expiring"


class WebhookEndpoint(models.Model):
    """A URL of the merchant's that receives the event types in ``events``, signed with
    ``secret``. During a rotation the previous secret signs too, until it expires."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="webhook_endpoints", db_index=False
    )
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="Event types sent to this endpoint.")
    secret = models.CharField(max_length=200)
    previous_secret = models.CharField(max_length=200, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    # Why it was turned off (failing for a day, by staff), shown to the merchant.
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # The first failure of the current failing streak; a success clears it.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    objects = scoped_manager("merchant")

    class Meta:
        indexes = [models.Index(fields=["merchant", "-id"], name="webhookendpoint_merchant")]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    """Something that happened, as the receivers get it: ``event_id`` lets them dedupe."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    payload = models.JSONField()
    created_at = models.DateTimeField()

    objects = scoped_manager("merchant")

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class WebhookDelivery(models.Model):
    """One event to one endpoint: attempted until delivered, or failed after a day."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        DELIVERED = "delivered"
        FAILED = "failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # Retries stop a day after this (a resend starts the day again).
    first_attempt_due_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager("endpoint__merchant")

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhookdelivery_once_per_endpoint"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "delivered", "failed"]),
                name="webhookdelivery_status_valid",
            ),
        ]
        indexes = [
            # An endpoint's delivery log, newest first.
            models.Index(fields=["endpoint", "-id"], name="webhookdelivery_log"),
            # The retry sweep: pending deliveries by due time.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="webhookdelivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} -> {self.endpoint} ({self.status})"
