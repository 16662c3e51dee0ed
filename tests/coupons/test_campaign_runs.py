"""Campaign runs: chunks issue exactly once, within stock, the per-shopper limit and validity."""

from datetime import timedelta

import pytest
from django.utils import timezone

from coupons.models import CODE_ALPHABET, CODE_LENGTH, Campaign, CampaignRun, CampaignRunChunk, Coupon
from coupons.services import campaign_runs
from coupons.services.campaigns import campaign_run_scheduled
from tests.conftest import requires_postgres
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.members.factories import AccountFactory, FollowFactory, MerchantFactory
from tests.threads import all_at_once


def a_campaign(merchant, fans: int, **template_fields) -> tuple[Campaign, list]:
    account = AccountFactory(merchant=merchant)
    shoppers = [FollowFactory(account=account).shopper for _ in range(fans)]
    template = CouponTemplateFactory(merchant=merchant, **template_fields)
    campaign = Campaign.objects.create(
        merchant=merchant, name="Fans", template=template, audience={"followers_of": account.handle}
    )
    return campaign, shoppers


def started(campaign, worker) -> CampaignRun:
    """A run split into chunks, its chunk tasks waiting in ``worker.queue``."""
    with worker.committed():
        run = campaign_runs.campaign_run_request(campaign=campaign)
    start, kwargs = worker.queue.pop(0)
    with worker.committed():
        start.run(**kwargs)
    return CampaignRun.objects.get(pk=run.pk)


@pytest.mark.django_db
def test_a_run_issues_one_valid_coupon_per_shopper_of_the_audience(merchant, worker, small_chunks):
    campaign, shoppers = a_campaign(merchant, 5, valid_days=10)
    run = started(campaign, worker)
    worker.drain()

    run.refresh_from_db()
    coupons = list(Coupon.objects.filter(campaign_run=run))
    assert sorted(c.shopper_id for c in coupons) == sorted(s.pk for s in shoppers)
    assert all(
        (c.state, c.source, c.merchant_id, c.template_id)
        == ("issued", "campaign", merchant.pk, campaign.template_id)
        for c in coupons
    )
    assert all(c.expires_at - c.issued_at == timedelta(days=10) for c in coupons)
    assert all(len(c.code) == CODE_LENGTH and set(c.code) <= set(CODE_ALPHABET) for c in coupons)
    assert len({c.code for c in coupons}) == 5
    assert (run.status, run.audience_size, run.issued, run.skipped, run.chunks_total) == ("done", 5, 5, 0, 3)
    campaign.template.refresh_from_db()
    assert campaign.template.issued_count == 5


@pytest.mark.django_db
def test_a_chunk_task_delivered_twice_issues_nothing_twice(merchant, worker, small_chunks):
    campaign, _ = a_campaign(merchant, 4)
    run = started(campaign, worker)
    task, kwargs = worker.queue[0]

    worker.drain()
    with worker.committed():
        again = task.run(**kwargs)

    assert again == {"chunks": 0, "issued": 0}
    run.refresh_from_db()
    assert (run.issued, run.chunks_done, Coupon.objects.filter(campaign_run=run).count()) == (4, 2, 4)


@pytest.mark.django_db
def test_a_chunk_rerun_after_its_claim_was_lost_still_issues_nothing_twice(merchant, worker, small_chunks):
    # Even if a chunk were done again (its claim undone by hand), unique (run, shopper)
    # holds: no coupon twice, and the stock it claimed is given back.
    campaign, _ = a_campaign(merchant, 2, stock=100)
    run = started(campaign, worker)
    worker.drain()
    chunk = CampaignRunChunk.objects.get(run=run)
    CampaignRunChunk.objects.filter(pk=chunk.pk).update(done_at=None)
    CampaignRun.objects.filter(pk=run.pk).update(status="running", chunks_done=0)

    with worker.committed():
        campaign_runs.campaign_chunks_issue(lo=chunk.pk, hi=chunk.pk)

    assert Coupon.objects.filter(campaign_run=run).count() == 2
    campaign.template.refresh_from_db()
    assert campaign.template.issued_count == 2


@pytest.mark.django_db
def test_stock_reached_mid_run_stops_exactly_at_stock(merchant, worker, small_chunks):
    campaign, _ = a_campaign(merchant, 7, stock=3)
    run = started(campaign, worker)
    worker.drain()

    run.refresh_from_db()
    assert (run.issued, run.skipped_stock, run.skipped_limit, run.skipped, run.status) == (3, 4, 0, 4, "done")
    assert Coupon.objects.filter(campaign_run=run).count() == 3
    campaign.template.refresh_from_db()
    assert campaign.template.issued_count == 3


@pytest.mark.django_db
def test_the_per_shopper_limit_holds_for_shoppers_who_already_hold_one(merchant, worker, small_chunks):
    campaign, shoppers = a_campaign(merchant, 3, per_member_limit=1)
    CouponFactory(template=campaign.template, shopper=shoppers[0])
    CouponFactory(
        template=campaign.template, shopper=shoppers[1], state="redeemed", redeemed_at=timezone.now()
    )
    run = started(campaign, worker)
    worker.drain()

    run.refresh_from_db()
    assert (run.issued, run.skipped_limit, run.skipped) == (2, 1, 1)
    assert not Coupon.objects.filter(campaign_run=run, shopper=shoppers[0]).exists()


@pytest.mark.django_db
def test_a_template_switched_off_mid_run_issues_no_more(merchant, worker, small_chunks):
    campaign, _ = a_campaign(merchant, 4)
    run = started(campaign, worker)
    first, kwargs = worker.queue.pop(0)
    with worker.committed():
        first.run(**kwargs)
    campaign.template.active = False
    campaign.template.save()
    worker.drain()

    run.refresh_from_db()
    assert (run.status, run.issued, run.skipped, run.skipped_limit, run.skipped_stock) == ("done", 2, 2, 0, 0)


@pytest.mark.django_db
def test_an_empty_audience_is_done_at_once(merchant, worker):
    campaign, _ = a_campaign(merchant, 0)
    run = started(campaign, worker)

    assert (run.status, run.audience_size, run.chunks_total, worker.queue) == ("done", 0, 0, [])
    assert run.finished_at is not None


@pytest.mark.django_db
def test_a_failing_chunk_fails_the_run_which_resume_finishes(merchant, worker, small_chunks, monkeypatch):
    campaign, _ = a_campaign(merchant, 4)
    run = started(campaign, worker)
    real = campaign_runs._chunk_issue
    monkeypatch.setattr(
        campaign_runs, "_chunk_issue", lambda **kw: (_ for _ in ()).throw(RuntimeError("disk full"))
    )
    task, kwargs = worker.queue.pop(0)
    with pytest.raises(RuntimeError), worker.committed():
        task.run(**kwargs)
    run.refresh_from_db()
    assert (run.status, run.error, run.issued) == ("failed", "RuntimeError: disk full", 0)

    monkeypatch.setattr(campaign_runs, "_chunk_issue", real)
    worker.queue.clear()
    with worker.committed():
        campaign_runs.campaign_run_resume(run=run)
    worker.drain()

    run.refresh_from_db()
    assert (run.status, run.issued, run.error) == ("done", 4, "")


@pytest.mark.django_db
def test_a_scheduled_run_is_skipped_when_paused_or_one_is_under_way(merchant, worker):
    campaign, _ = a_campaign(merchant, 1)
    campaign.active = False
    campaign.save()
    assert campaign_run_scheduled(campaign_id=campaign.pk) is None

    campaign.active = True
    campaign.save()
    with worker.committed():
        first = campaign_run_scheduled(campaign_id=campaign.pk)
    assert first is not None
    assert campaign_run_scheduled(campaign_id=campaign.pk) is None
    assert CampaignRun.objects.filter(campaign=campaign).count() == 1


# --- Under real concurrency (PostgreSQL, committed transactions) ------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_chunks_never_issue_more_than_the_stock(worker, small_chunks):
    merchant = MerchantFactory()
    campaign, _ = a_campaign(merchant, 40, stock=25)
    run = started(campaign, worker)
    calls = [lambda task=task, kwargs=kwargs: task.run(**kwargs) for task, kwargs in worker.queue]

    results = all_at_once(calls)

    assert not [r for r in results if isinstance(r, Exception)], results
    run.refresh_from_db()
    assert (run.status, run.issued, run.skipped_stock, run.chunks_done) == ("done", 25, 15, 20)
    assert Coupon.objects.filter(campaign_run=run).count() == 25
    campaign.template.refresh_from_db()
    assert campaign.template.issued_count == 25


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_one_chunk_delivered_to_two_workers_at_once_is_issued_once(worker):
    merchant = MerchantFactory()
    campaign, _ = a_campaign(merchant, 30, stock=100)
    run = started(campaign, worker)
    [(task, kwargs)] = worker.queue

    results = all_at_once([lambda: task.run(**kwargs), lambda: task.run(**kwargs)])

    assert sorted(r["issued"] for r in results) == [0, 30], results
    run.refresh_from_db()
    assert (run.status, run.issued, run.chunks_done) == ("done", 30, 1)
    campaign.template.refresh_from_db()
    assert campaign.template.issued_count == 30


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_chunk_and_single_issues_to_the_same_shoppers_keep_the_limit(worker):
    from coupons.services.issuing import coupon_issue

    merchant = MerchantFactory()
    campaign, shoppers = a_campaign(merchant, 10, per_member_limit=1)
    run = started(campaign, worker)
    [(task, kwargs)] = worker.queue
    template = campaign.template

    def single(shopper):
        def call():
            from django.db import transaction

            with transaction.atomic():
                return coupon_issue(
                    template=template, merchant_id=merchant.pk, shopper_id=shopper.pk, source="manual"
                )

        return call

    all_at_once([lambda: task.run(**kwargs), *[single(s) for s in shoppers]])

    for shopper in shoppers:
        assert Coupon.objects.filter(template=template, shopper=shopper).count() == 1
    run.refresh_from_db()
    template.refresh_from_db()
    assert run.issued + run.skipped_limit == 10
    assert template.issued_count == 10


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_single_issue_committed_between_a_chunks_insert_and_its_lock_keeps_the_limit(worker, monkeypatch):
    # The chunk inserts without the template's lock; a single issue to one of its shoppers
    # commits before the chunk takes the lock. The chunk's recheck under the lock gives
    # that shopper's coupon back: one coupon each, stock counted once.
    import threading

    from coupons.services import campaign_sql
    from coupons.services.issuing import coupon_issue

    merchant = MerchantFactory()
    campaign, shoppers = a_campaign(merchant, 4, per_member_limit=1, stock=10)
    run = started(campaign, worker)
    [(task, kwargs)] = worker.queue
    template = campaign.template
    real_insert = campaign_sql.ChunkSource.insert

    def insert_then_a_single_issue(self, **kw):
        inserted = real_insert(self, **kw)

        def single():
            from django.db import connection, transaction

            try:
                with transaction.atomic():
                    coupon_issue(
                        template=template, merchant_id=merchant.pk, shopper_id=shoppers[2].pk, source="manual"
                    )
            finally:
                connection.close()

        thread = threading.Thread(target=single)
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the single issue waited on the chunk's insert"
        return inserted

    monkeypatch.setattr(campaign_sql.ChunkSource, "insert", insert_then_a_single_issue)
    task.run(**kwargs)

    for shopper in shoppers:
        assert Coupon.objects.filter(template=template, shopper=shopper).count() == 1
    assert Coupon.objects.get(template=template, shopper=shoppers[2]).source == "manual"
    run.refresh_from_db()
    template.refresh_from_db()
    assert (run.status, run.issued, run.skipped_limit, run.skipped_stock) == ("done", 3, 1, 0)
    assert template.issued_count == 4


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_template_to_the_same_shoppers_keep_the_limit_and_the_stock(worker, small_chunks):
    # Two campaigns, one template (limit 1, stock 15), the same 12 shoppers: their chunks
    # insert at once without the template's lock; the recheck and the guarded claim under
    # it leave every shopper one coupon and the stock exact.
    merchant = MerchantFactory()
    first, shoppers = a_campaign(merchant, 12, per_member_limit=1, stock=15)
    second = Campaign.objects.create(
        merchant=merchant, name="Again", template=first.template, audience=first.audience
    )
    runs, sent = [], []
    for campaign in (first, second):
        runs.append(started(campaign, worker))
        sent += worker.queue
        worker.queue.clear()
    calls = [lambda task=task, kwargs=kwargs: task.run(**kwargs) for task, kwargs in sent]

    results = all_at_once(calls)

    assert not [r for r in results if isinstance(r, Exception)], results
    for shopper in shoppers:
        assert Coupon.objects.filter(template=first.template, shopper=shopper).count() == 1
    for run in runs:
        run.refresh_from_db()
        assert run.status == "done"
        assert run.issued + run.skipped_limit + run.skipped_stock == 12
    assert sum(r.issued for r in runs) == 12
    first.template.refresh_from_db()
    assert first.template.issued_count == 12


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_chunks_and_single_issues_never_pass_a_small_stock(worker, small_chunks):
    from django.db import transaction

    from coupons.services.issuing import coupon_issue

    merchant = MerchantFactory()
    campaign, _ = a_campaign(merchant, 20, stock=13)
    others = [FollowFactory().shopper for _ in range(6)]
    run = started(campaign, worker)
    template = campaign.template

    def single(shopper):
        def call():
            with transaction.atomic():
                return coupon_issue(
                    template=template, merchant_id=merchant.pk, shopper_id=shopper.pk, source="manual"
                )

        return call

    calls = [lambda task=task, kwargs=kwargs: task.run(**kwargs) for task, kwargs in worker.queue]
    results = all_at_once([*calls, *[single(s) for s in others]])

    singles = results[len(calls) :]
    assert not [r for r in results[: len(calls)] if isinstance(r, Exception)], results
    run.refresh_from_db()
    template.refresh_from_db()
    issued_singly = len([r for r in singles if not isinstance(r, Exception)])
    assert run.issued + issued_singly == 13 == template.issued_count
    assert Coupon.objects.filter(template=template).count() == 13
    assert (run.status, run.issued + run.skipped_stock) == ("done", 20)


# --- Cancelling ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_chunks_that_start_after_a_cancel_issue_nothing_and_issued_coupons_stay(
    merchant, worker, small_chunks
):
    campaign, _ = a_campaign(merchant, 6, stock=100)
    run = started(campaign, worker)
    first, kwargs = worker.queue.pop(0)
    with worker.committed():
        first.run(**kwargs)

    with worker.committed():
        cancelled = campaign_runs.campaign_run_cancel(run=run)
    worker.drain()

    assert cancelled.status == "cancelled"
    run.refresh_from_db()
    assert (run.status, run.issued, run.chunks_done) == ("cancelled", 2, 1)
    assert run.finished_at is not None
    assert Coupon.objects.filter(campaign_run=run).count() == 2
    campaign.template.refresh_from_db()
    assert campaign.template.issued_count == 2
    # The campaign can run again: a cancelled run is finished.
    assert campaign_runs.campaign_run_request(campaign=campaign).status == "queued"


@pytest.mark.django_db
def test_a_queued_run_cancelled_never_starts(merchant, worker):
    campaign, _ = a_campaign(merchant, 3)
    with worker.committed():
        run = campaign_runs.campaign_run_request(campaign=campaign)
    campaign_runs.campaign_run_cancel(run=run)
    worker.drain()

    run.refresh_from_db()
    assert (run.status, run.chunks_total, run.issued) == ("cancelled", 0, 0)
    assert not CampaignRunChunk.objects.filter(run=run).exists()
    assert not Coupon.objects.filter(campaign_run=run).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["done", "failed", "cancelled"])
def test_a_run_that_has_ended_cannot_be_cancelled_and_stays_as_it_was(merchant, worker, status):
    from coupons import errors

    campaign, _ = a_campaign(merchant, 1)
    run = CampaignRun.objects.create(campaign=campaign, merchant=merchant, status=status, error="x")

    with pytest.raises(errors.CampaignRunNotCancellable):
        campaign_runs.campaign_run_cancel(run=run)

    run.refresh_from_db()
    assert (run.status, run.finished_at, run.error) == (status, None, "x")


@pytest.mark.django_db
def test_a_cancelled_run_cannot_be_resumed(merchant, worker, small_chunks):
    from coupons import errors

    campaign, _ = a_campaign(merchant, 4)
    run = started(campaign, worker)
    campaign_runs.campaign_run_cancel(run=run)
    worker.queue.clear()

    with pytest.raises(errors.CampaignRunNotResumable):
        campaign_runs.campaign_run_resume(run=run)
    assert worker.queue == []
    assert not Coupon.objects.filter(campaign_run=run).exists()
