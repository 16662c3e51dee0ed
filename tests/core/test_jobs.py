import pytest
from celery import shared_task
from django.db.models import QuerySet

from core.jobs import Chunk, chunks, chunks_enqueue, chunks_run
from coupons.models import Coupon
from tests.conftest import requires_postgres
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.members.factories import ShopperFactory
from tests.threads import all_at_once, wait_for_a_lock_waiter

ISSUED, EXPIRED = Coupon.State.ISSUED, Coupon.State.EXPIRED


def issued() -> QuerySet[Coupon]:
    return Coupon.objects.filter(state=ISSUED)


def in_chunk(chunk: Chunk):
    return issued().filter(pk__gte=chunk.lo, pk__lte=chunk.hi)


@pytest.fixture
def seven_coupons(db):
    template = CouponTemplateFactory()
    return sorted(CouponFactory(template=template).pk for _ in range(7))


def test_chunks_cover_every_row_once_in_key_order(seven_coupons):
    found = list(chunks(Coupon.objects.all(), size=3))

    assert [len(chunk) for chunk in found] == [3, 3, 1]
    assert [key for chunk in found for key in chunk.keys] == seven_coupons
    assert (found[0].lo, found[0].hi) == (seven_coupons[0], seven_coupons[2])


def test_chunks_of_another_key_hold_each_value_once(db):
    template = CouponTemplateFactory()
    shoppers = [ShopperFactory() for _ in range(3)]
    for shopper in shoppers:
        CouponFactory.create_batch(2, template=template, shopper=shopper)

    found = list(chunks(Coupon.objects.all(), size=2, key="shopper_id"))

    assert [chunk.keys for chunk in found] == [(shoppers[0].pk, shoppers[1].pk), (shoppers[2].pk,)]


def test_each_chunk_is_read_after_the_previous_one_is_done(seven_coupons, django_assert_num_queries):
    seen = []

    def expire(chunk: Chunk) -> int:
        seen.append(chunk.keys)
        return in_chunk(chunk).update(state=EXPIRED)

    # Three key reads (3 + 3 + 1 rows), three updates, the read that finds none left; and
    # each chunk's transaction is a savepoint in the test's own (two statements each).
    with django_assert_num_queries(7 + 2 * 3):
        result = chunks_run(issued(), size=3, work=expire)

    assert result.done == [3, 3, 1] and result.skipped == 0
    assert [key for keys in seen for key in keys] == seven_coupons
    assert not issued().exists()


def test_a_failing_chunk_is_rolled_back_and_the_chunks_before_it_stay_done(seven_coupons):
    def expire_then_fail_on_the_second(chunk: Chunk) -> int:
        expired = in_chunk(chunk).update(state=EXPIRED)
        if chunk.lo == seven_coupons[3]:
            raise RuntimeError("the second chunk fails")
        return expired

    with pytest.raises(RuntimeError):
        chunks_run(issued(), size=3, work=expire_then_fail_on_the_second)

    assert list(issued().order_by("pk").values_list("pk", flat=True)) == seven_coupons[3:]


def test_a_chunk_whose_claim_takes_no_row_is_skipped_without_its_work(seven_coupons):
    Coupon.objects.filter(pk__in=seven_coupons[:3]).update(state=EXPIRED)  # "taken by another worker"
    worked = []

    def claim(chunk: Chunk) -> int:
        return in_chunk(chunk).update(state=EXPIRED)

    result = chunks_run(Coupon.objects.all(), size=3, claim=claim, work=lambda chunk: worked.append(chunk.lo))

    assert result.skipped == 1
    assert worked == [seven_coupons[3], seven_coupons[6]]


def test_a_chunk_size_below_one_is_refused(db):
    with pytest.raises(ValueError):
        list(chunks(Coupon.objects.all(), size=0))


@shared_task(name="tests.core.record_chunk")
def record_chunk(*, lo: int, hi: int, label: str) -> None:  # pragma: no cover - never sent here
    raise AssertionError("the test records the sends instead")


def test_fan_out_sends_one_task_per_chunk_only_when_the_transaction_commits(
    seven_coupons, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(record_chunk, "delay", lambda **kwargs: sent.append(kwargs))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        count = chunks_enqueue(Coupon.objects.all(), size=3, task=record_chunk, label="expiry")
        assert sent == []  # nothing leaves the process before the commit

    assert count == len(callbacks) == 3
    assert sent == [
        {"lo": seven_coupons[0], "hi": seven_coupons[2], "label": "expiry"},
        {"lo": seven_coupons[3], "hi": seven_coupons[5], "label": "expiry"},
        {"lo": seven_coupons[6], "hi": seven_coupons[6], "label": "expiry"},
    ]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_chunk_never_both_take_it():
    template = CouponTemplateFactory()
    pks = [CouponFactory(template=template).pk for _ in range(5)]
    worked: list = []

    def claim(chunk: Chunk) -> int:
        return in_chunk(chunk).update(state=EXPIRED)

    def work(chunk: Chunk) -> tuple:
        # The first claimer holds its claim until the other worker queues behind it.
        assert wait_for_a_lock_waiter(), "the other worker never reached the chunk"
        worked.append(chunk.keys)
        return chunk.keys

    results = all_at_once([lambda: chunks_run(issued(), size=10, claim=claim, work=work)] * 2)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted((len(r.done), r.skipped) for r in results) == [(0, 1), (1, 0)]
    assert worked == [tuple(sorted(pks))]
    assert Coupon.objects.filter(state=EXPIRED).count() == 5
