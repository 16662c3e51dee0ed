"""The one table of ``core``: the transactional outbox (docs/outbox.md)."""

from django.db import models
from django.utils import timezone


class OutboxMessage(models.Model):
    """A Celery task to send, written in the transaction of the effect that needs it.

    The relay (``core.outbox``) sends it after the commit and stamps ``sent_at``; a send
    that fails is tried again at ``available_at``, later each time.
    """

    task = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    available_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "core_outbox"
        indexes = [
            # The relay's scan and the backlog count: pending rows only, by id.
            models.Index(fields=["id"], name="core_outbox_pending", condition=models.Q(sent_at__isnull=True)),
            # The prune: sent rows by age.
            models.Index(
                fields=["sent_at"], name="core_outbox_sent", condition=models.Q(sent_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"
