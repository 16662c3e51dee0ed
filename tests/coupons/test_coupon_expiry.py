"""Expiring coupons: the nightly job (service, task and command)."""

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from coupons.models import Coupon
from coupons.services.expiry import coupons_expire_due
from coupons.tasks import expire_coupons
from tests.coupons.factories import CouponFactory


def states() -> dict[str, str]:
    return dict(Coupon.objects.values_list("code", "state"))


def test_issued_coupons_past_their_date_expire_and_nothing_else_moves(db):
    now = timezone.now()
    CouponFactory(code="DUE", expires_at=now - timedelta(seconds=1))
    CouponFactory(code="ATNOW", expires_at=now)
    CouponFactory(code="LATER", expires_at=now + timedelta(seconds=1))
    CouponFactory(code="USED", state="redeemed", redeemed_at=now, expires_at=now - timedelta(days=1))
    CouponFactory(code="VOID", state="void", expires_at=now - timedelta(days=1))

    expired = coupons_expire_due(now=now)

    assert expired == 2
    assert states() == {
        "DUE": "expired",
        "ATNOW": "expired",
        "LATER": "issued",
        "USED": "redeemed",
        "VOID": "void",
    }


def test_a_second_run_finds_nothing(db):
    CouponFactory(expires_at=timezone.now() - timedelta(days=1))
    coupons_expire_due()

    assert coupons_expire_due() == 0


def test_expiry_walks_every_batch(db):
    past = timezone.now() - timedelta(days=1)
    for _ in range(7):
        CouponFactory(expires_at=past)
    CouponFactory(code="KEEP", expires_at=timezone.now() + timedelta(days=1))

    assert coupons_expire_due(batch=3) == 7
    assert Coupon.objects.filter(state="issued").get().code == "KEEP"


def test_the_task_and_the_command_run_the_job(db):
    CouponFactory(expires_at=timezone.now() - timedelta(days=1))
    CouponFactory(expires_at=timezone.now() - timedelta(days=1))

    assert expire_coupons() == 2

    CouponFactory(expires_at=timezone.now() - timedelta(days=1))
    out = StringIO()
    call_command("expire_coupons", stdout=out)
    assert out.getvalue().strip() == "Expired 1 coupons."
    assert not Coupon.objects.filter(state="issued").exists()
