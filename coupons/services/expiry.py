"""Nightly: issued coupons past their date become ``expired``, in id-range batches."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from coupons.models import Coupon

EXPIRY_BATCH = 10_000


def coupons_expire_due(*, now: datetime | None = None, batch: int = EXPIRY_BATCH) -> int:
    """Mark due coupons expired; returns how many. A second run finds none."""
    cutoff = now or timezone.now()
    expired = 0
    after = 0
    while True:
        ids = list(
            Coupon.objects.filter(state=Coupon.State.ISSUED, expires_at__lte=cutoff, pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return expired
        with transaction.atomic():
            # The state guard keeps a coupon redeemed meanwhile out of the update.
            expired += Coupon.objects.filter(
                pk__gte=ids[0], pk__lte=ids[-1], state=Coupon.State.ISSUED, expires_at__lte=cutoff
            ).update(state=Coupon.State.EXPIRED)
        after = ids[-1]
