"""Nightly: issued coupons past their date become ``expired``, in id-range batches."""

from datetime import datetime

from django.utils import timezone

from core.jobs import Chunk, chunks_run
from coupons.models import Coupon

EXPIRY_BATCH = 10_000


def coupons_expire_due(*, now: datetime | None = None, batch: int = EXPIRY_BATCH) -> int:
    """Mark due coupons expired; returns how many. A second run finds none."""
    cutoff = now or timezone.now()
    due = Coupon.objects.filter(state=Coupon.State.ISSUED, expires_at__lte=cutoff)

    def expire(chunk: Chunk) -> int:
        # The state guard keeps a coupon redeemed meanwhile out of the update.
        return due.filter(pk__gte=chunk.lo, pk__lte=chunk.hi).update(state=Coupon.State.EXPIRED)

    return sum(chunks_run(due, size=batch, work=expire).done)
