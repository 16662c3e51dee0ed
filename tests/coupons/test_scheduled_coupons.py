"""Coupons promised for later (delayed repurchase coupons) and the job that issues them."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from coupons.models import Coupon, ScheduledCoupon
from coupons.services.scheduled import coupon_schedule, coupons_issue_due
from coupons.tasks import issue_due_coupons
from members.models import Membership
from tests.conftest import requires_postgres, row_counts
from tests.coupons.factories import CouponTemplateFactory, ScheduledCouponFactory
from tests.members.factories import MembershipFactory, ShopperFactory
from tests.threads import all_at_once, wait_for_a_lock_waiter


def due(template, membership=None, **fields) -> ScheduledCoupon:
    membership = membership or MembershipFactory(merchant=template.merchant)
    fields.setdefault("due_at", timezone.now() - timedelta(minutes=1))
    return ScheduledCouponFactory(template=template, shopper=membership.shopper, **fields)


def test_a_repurchase_coupon_is_promised_once_per_member(template, membership):
    at = timezone.now() + timedelta(days=3)

    holder = {"merchant_id": membership.merchant_id, "shopper_id": membership.shopper_id}
    first = coupon_schedule(template=template, **holder, source="repurchase", due_at=at)
    second = coupon_schedule(template=template, **holder, source="repurchase", due_at=at)

    assert first is not None and second is None
    stored = ScheduledCoupon.objects.get()
    assert (stored.merchant_id, stored.shopper_id, stored.template, stored.due_at) == (
        membership.merchant_id,
        membership.shopper_id,
        template,
        at,
    )
    assert stored.handled_at is None and stored.coupon is None


def test_due_promises_are_issued_and_later_ones_wait(template):
    now = timezone.now()
    ready = due(template)
    waiting = due(template, due_at=now + timedelta(hours=1))

    result = coupons_issue_due(now=now)

    assert (result.issued, result.skipped) == (1, 0)
    ready.refresh_from_db()
    waiting.refresh_from_db()
    assert (ready.handled_at, ready.outcome) == (now, "issued")
    coupon = ready.coupon
    assert (coupon.shopper_id, coupon.template, coupon.source, coupon.state) == (
        ready.shopper_id,
        template,
        "repurchase",
        "issued",
    )
    assert coupon.issued_at == now and coupon.expires_at == now + timedelta(days=30)
    assert waiting.handled_at is None and waiting.coupon is None


def test_running_the_job_again_issues_nothing_more(template):
    due(template)
    coupons_issue_due()
    before = row_counts()

    result = coupons_issue_due()

    assert (result.issued, result.skipped) == (0, 0)
    assert row_counts() == before
    assert Coupon.objects.count() == 1


def test_the_job_walks_every_batch(template):
    for _ in range(5):
        due(template)

    result = coupons_issue_due(batch=2)

    assert result.issued == 5
    assert not ScheduledCoupon.objects.filter(handled_at__isnull=True).exists()


@pytest.mark.parametrize(
    ("setup", "outcome"),
    [
        ("out_of_stock", "coupon_out_of_stock"),
        ("left", "not_a_member"),
        ("never_joined", "not_a_member"),
        ("inactive", "coupon_template_inactive"),
        ("limit", "coupon_limit_reached"),
    ],
)
def test_a_promise_that_cannot_be_kept_is_recorded_once_with_why(merchant, setup, outcome):
    template = CouponTemplateFactory(merchant=merchant)
    membership = MembershipFactory(merchant=merchant)
    promise = due(template, membership)
    if setup == "out_of_stock":
        template.stock = 0
        template.save()
    elif setup == "left":
        Membership.objects.filter(pk=membership.pk).update(status=Membership.Status.LEFT)
    elif setup == "never_joined":
        promise.shopper = ShopperFactory()
        promise.save()
    elif setup == "inactive":
        template.active = False
        template.save()
    elif setup == "limit":
        coupons_issue_due()  # nothing else due yet: issue this one, then promise another
        promise = due(template, membership, source="manual")

    result = coupons_issue_due()

    assert (result.issued, result.skipped) == (0, 1)
    promise.refresh_from_db()
    assert promise.handled_at is not None and promise.coupon is None
    assert promise.outcome == outcome
    assert coupons_issue_due().skipped == 0
    template.refresh_from_db()
    assert template.issued_count == Coupon.objects.count()


def test_the_task_and_the_command_run_the_job(template):
    due(template)

    assert issue_due_coupons() == {"issued": 1, "skipped": 0}

    due(template)
    out = StringIO()
    call_command("issue_due_coupons", stdout=out)
    assert "Issued 1 coupons; 0 could not be issued" in out.getvalue()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_promise_held_by_another_worker_is_left_to_it_without_waiting():
    template = CouponTemplateFactory()
    promise = due(template)
    held, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                ScheduledCoupon.objects.select_for_update().get(pk=promise.pk)
                held.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    worker = threading.Thread(target=other_worker)
    worker.start()
    try:
        assert held.wait(timeout=10)
        outcome: list = []
        job = threading.Thread(target=lambda: (outcome.append(coupons_issue_due()), connection.close()))
        job.start()
        job.join(timeout=5)
        assert not job.is_alive(), "the job waited for (or spun on) a promise another worker holds"
        assert (outcome[0].issued, outcome[0].skipped) == (0, 0)
    finally:
        release.set()
        worker.join(timeout=20)

    assert coupons_issue_due().issued == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_template_locked_by_an_issue_in_progress_does_not_make_the_job_skip_its_promises():
    template = CouponTemplateFactory()
    due(template)
    held, release = threading.Event(), threading.Event()

    def order_in_progress():
        # An order issuing a coupon of the same template holds the template's row until commit.
        try:
            with transaction.atomic():
                type(template).objects.filter(pk=template.pk).update(name="locked")
                held.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    other = threading.Thread(target=order_in_progress)
    other.start()
    assert held.wait(timeout=10)
    outcome: list = []
    job = threading.Thread(target=lambda: (outcome.append(coupons_issue_due()), connection.close()))
    job.start()
    try:
        # The job claims the promise and then queues behind the order for the template's row.
        assert wait_for_a_lock_waiter(), "the job did not queue for the template: it skipped the promise"
    finally:
        release.set()
        job.join(timeout=20)
        other.join(timeout=20)

    assert outcome and outcome[0].issued == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_three_jobs_at_once_issue_each_promise_exactly_once():
    template = CouponTemplateFactory()
    for _ in range(12):
        due(template)

    results = all_at_once([lambda: coupons_issue_due(batch=5) for _ in range(3)])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.issued for r in results) == 12
    assert sum(r.skipped for r in results) == 0
    assert Coupon.objects.count() == 12
    assert ScheduledCoupon.objects.filter(outcome="issued", coupon__isnull=False).count() == 12
    template.refresh_from_db()
    assert template.issued_count == 12
