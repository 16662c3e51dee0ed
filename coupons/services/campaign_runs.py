"""Campaign runs: a million coupons in primary-key chunks, exactly once, resumable.

1. ``campaign_run_request`` (run now, the schedule, ``run_campaign``) writes a queued
   run and sends ``coupons.campaign_run_start`` through the outbox (core.outbox): nothing heavy in a request.
2. ``campaign_run_start`` (a worker) splits the audience into shopper-id ranges of
   ``CAMPAIGN_CHUNK`` with ``core.jobs.chunks``, writes one ``CampaignRunChunk`` per
   range and fans them out with ``core.jobs.chunks_enqueue``: one
   ``coupons.campaign_chunks_issue`` task per chunk. No chord or group callback waits
   on a thousand tasks.
3. ``campaign_chunks_issue`` runs each chunk through ``core.jobs.chunks_run``: its
   claim (``done_at`` set by a conditional ``UPDATE``) makes a redelivered task a no-op;
   its work inserts the coupons with one ``INSERT ... SELECT`` from the audience query
   (unique ``(campaign_run, shopper)``) without the template's lock, then locks the
   template to recheck the per-shopper limit, claim the stock in one guarded ``UPDATE``
   and trim what it cannot cover (``coupons.services.campaign_sql``), and moves the
   run's counters. The chunk whose counter update makes ``chunks_done ==
   chunks_total`` marks the run done.
4. ``campaign_run_cancel`` ends a queued or running run: chunks that start afterwards
   find it no longer running and issue nothing.

A worker that dies mid-chunk loses its transaction (nothing of the chunk is written)
and the broker redelivers the task (``acks_late``, ``reject_on_worker_lost``; the
visibility timeout is in the settings). ``campaign_run_resume`` sends the chunks not
yet done again; the claim and the unique constraint make that safe whatever is still
in flight, so a resumed run ends with the coupons of an undisturbed one.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, Subquery, Value, When
from django.utils import timezone

from core.jobs import Chunk, chunks, chunks_enqueue, chunks_run
from core.outbox import outbox_send
from coupons import errors
from coupons.audiences import audience_compile
from coupons.locks import campaign_runs_lock, coupon_templates_lock
from coupons.models import Campaign, CampaignRun, CampaignRunChunk, CouponTemplate
from coupons.services.campaign_events import campaign_chunk_coupons_emit, campaign_run_finished_emit
from coupons.services.campaign_sql import ChunkSource, Inserted
from coupons.services.issuing import coupon_validity
from members.webhooks.events import webhook_wanted
from members.webhooks.models import EventType

logger = logging.getLogger(__name__)

# Shoppers per chunk: a million is 200 tasks, each a transaction of a dozen statements (a
# thousand a chunk spent a third of a run on per-chunk statements; docs/campaigns.md).
CAMPAIGN_CHUNK = 5000
UNFINISHED = (CampaignRun.Status.QUEUED, CampaignRun.Status.RUNNING)


def _tasks():
    from coupons import tasks  # the tasks call these services: imported when first needed

    return tasks


def template_issuable(*, template: CouponTemplate, now: datetime) -> bool:
    return template.active and coupon_validity(template=template, now=now)[1] > now


@transaction.atomic
def campaign_run_request(*, campaign: Campaign) -> CampaignRun:
    """A queued run of ``campaign``; a worker starts it once this transaction commits.

    One unfinished run per campaign (a partial unique constraint): a second request
    while one is queued or running is ``CampaignRunInProgress``.
    """
    if not template_issuable(template=campaign.template, now=timezone.now()):
        raise errors.CampaignTemplateNotIssuable(attr="template")
    audience_compile(merchant=campaign.merchant, audience=campaign.audience)  # still valid?
    try:
        with transaction.atomic():
            run = CampaignRun.objects.create(campaign=campaign, merchant_id=campaign.merchant_id)
    except IntegrityError:
        raise errors.CampaignRunInProgress(attr="campaign") from None
    outbox_send(_tasks().campaign_run_start, run_id=run.pk)
    return run


@transaction.atomic
def campaign_run_start(*, run_id: int) -> CampaignRun | None:
    """Split a queued run into chunks and send one task per chunk (after commit).

    A redelivered start finds the run no longer queued and does nothing.
    """
    run = campaign_runs_lock().select_related("campaign__merchant").filter(pk=run_id).first()
    if run is None or run.status != CampaignRun.Status.QUEUED:
        return run
    now = timezone.now()
    campaign = run.campaign
    try:
        audience = audience_compile(merchant=campaign.merchant, audience=campaign.audience, now=now)
    except errors.AudienceInvalid as exc:
        run.status, run.error, run.finished_at = CampaignRun.Status.FAILED, str(exc.detail), now
        run.save(update_fields=["status", "error", "finished_at"])
        campaign_run_finished_emit(run=run, merchant=campaign.merchant)
        return run
    # Each keyset chunk walks the shoppers' primary key from the last id and probes the
    # audience's keys per shopper; left to its statistics the planner merge-joins an
    # account's follows from the first shopper for every chunk (2.5 minutes at 1M).
    _nested_loops()
    ranges = [
        CampaignRunChunk(run=run, shopper_lo=chunk.lo, shopper_hi=chunk.hi)
        for chunk in _counted(chunks(audience, size=CAMPAIGN_CHUNK), run)
    ]
    CampaignRunChunk.objects.bulk_create(ranges, batch_size=CAMPAIGN_CHUNK)
    run.chunks_total = len(ranges)
    run.started_at = now
    run.status = CampaignRun.Status.RUNNING if ranges else CampaignRun.Status.DONE
    run.finished_at = None if ranges else now
    run.save(update_fields=["audience_size", "chunks_total", "started_at", "status", "finished_at"])
    if not ranges:  # nobody in the audience: the run is done as it starts
        campaign_run_finished_emit(run=run, merchant=campaign.merchant)
    chunks_enqueue(run.chunks.all(), size=1, task=_tasks().campaign_chunks_issue)
    return run


def _counted(ranges, run: CampaignRun):
    run.audience_size = 0
    for chunk in ranges:
        run.audience_size += len(chunk)
        yield chunk


@transaction.atomic
def campaign_run_resume(*, run: CampaignRun) -> CampaignRun:
    """Send again what a run has not done: its start if it never split, else its chunks
    not yet done. Safe beside tasks still in flight (each chunk is claimed once)."""
    run = campaign_runs_lock().filter(pk=run.pk).first()
    if run.status not in (*UNFINISHED, CampaignRun.Status.FAILED):
        raise errors.CampaignRunNotResumable(attr="run")
    if run.status == CampaignRun.Status.QUEUED:
        outbox_send(_tasks().campaign_run_start, run_id=run.pk)
        return run
    run.status, run.error = CampaignRun.Status.RUNNING, ""
    try:
        with transaction.atomic():
            run.save(update_fields=["status", "error"])
    except IntegrityError:  # a newer run of the campaign is under way
        raise errors.CampaignRunInProgress(attr="run") from None
    chunks_enqueue(run.chunks.filter(done_at__isnull=True), size=1, task=_tasks().campaign_chunks_issue)
    return run


@transaction.atomic
def campaign_run_cancel(*, run: CampaignRun) -> CampaignRun:
    """Stop a queued or running run. Its chunks that start after this commits issue nothing
    (their claim finds the run no longer running); a chunk already under way finishes and
    its coupons count, as do all those issued before: nothing is taken back. A run that
    has ended (done, failed, cancelled) is ``CampaignRunNotCancellable``."""
    run = campaign_runs_lock().select_related("campaign").filter(pk=run.pk).first()
    if run.status not in UNFINISHED:
        raise errors.CampaignRunNotCancellable(attr="run")
    run.status, run.finished_at = CampaignRun.Status.CANCELLED, timezone.now()
    run.save(update_fields=["status", "finished_at"])
    campaign_run_finished_emit(run=run, merchant=run.merchant_id)
    logger.info("campaign run %s cancelled at %s of %s chunks", run.pk, run.chunks_done, run.chunks_total)
    return run


@transaction.atomic
def campaign_run_fail(*, chunk_id: int, error: str) -> None:
    """A chunk failed for a reason a retry will not cure: the run stops, to be resumed."""
    run_id = CampaignRunChunk.objects.filter(pk=chunk_id).values_list("run_id", flat=True).first()
    running = campaign_runs_lock().select_related("campaign")
    run = running.filter(pk=run_id, status=CampaignRun.Status.RUNNING).first()
    if run is not None:
        run.status, run.error, run.finished_at = CampaignRun.Status.FAILED, error[:2000], timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        campaign_run_finished_emit(run=run, merchant=run.merchant_id)


@dataclass(frozen=True)
class ChunkCounts:
    issued: int = 0
    skipped_limit: int = 0
    skipped_stock: int = 0
    skipped_other: int = 0


def campaign_chunks_issue(*, lo: int, hi: int) -> list[ChunkCounts]:
    """Issue the chunks ``lo..hi`` (``CampaignRunChunk`` ids) not yet done, each in its own
    transaction; a chunk another worker has done or holds is left alone."""
    pending = CampaignRunChunk.objects.filter(pk__gte=lo, pk__lte=hi, done_at__isnull=True)

    def claim(chunk: Chunk) -> int:
        # A run that failed or was cancelled issues no more until it is resumed.
        if not CampaignRun.objects.filter(chunks__pk=chunk.lo, status=CampaignRun.Status.RUNNING).exists():
            return 0
        # One table, no join: a second worker's UPDATE waits for the first one's commit and
        # then re-checks ``done_at`` on the row itself (a join's subquery would not).
        return pending.filter(pk__gte=chunk.lo, pk__lte=chunk.hi).update(done_at=timezone.now())

    def work(chunk: Chunk) -> ChunkCounts:
        return _chunk_issue(chunk_id=chunk.lo)

    return chunks_run(pending, size=1, claim=claim, work=work).done


def _chunk_issue(*, chunk_id: int) -> ChunkCounts:
    """Issue one chunk (its claim taken): insert first, then keep the limit and the stock.

    The insert runs without the template's lock, bounded by the stock seen then; then
    the template's row is locked (lock order 7) for what must be exact: a coupon whose
    shopper another issuer served meanwhile past the limit is deleted again, the stock
    is claimed in one guarded ``UPDATE`` and what it cannot cover is deleted. Parallel
    chunks queue only on that short locked part, not on each other's inserts.
    """
    chunk = CampaignRunChunk.objects.select_related("run__campaign__merchant", "run__campaign__template").get(
        pk=chunk_id
    )
    run = chunk.run
    campaign = run.campaign
    template = campaign.template  # read, not locked: the stock seen here only bounds the insert
    audience = audience_compile(merchant=campaign.merchant, audience=campaign.audience, now=run.started_at)
    in_range = audience.filter(pk__gte=chunk.shopper_lo, pk__lte=chunk.shopper_hi).values("id")
    now = timezone.now()
    sql, params = in_range.query.sql_with_params()
    _nested_loops()
    source = ChunkSource(sql=sql, params=list(params), template=template, run=run, now=now)
    if not template_issuable(template=template, now=now):
        counts = ChunkCounts(skipped_other=source.count())
    else:
        room = None if template.stock is None else max(template.stock - template.issued_count, 0)
        inserted = source.insert(room=room)
        seen = _Seen(issued_count=template.issued_count, run_issued=run.issued)
        counts = _settle(source=source, inserted=inserted, seen=seen, now=now)
    CampaignRunChunk.objects.filter(pk=chunk.pk).update(
        issued=counts.issued, skipped_limit=counts.skipped_limit, skipped_stock=counts.skipped_stock
    )
    if counts.issued:
        campaign_chunk_coupons_emit(
            merchant=campaign.merchant, run=run, shoppers=(chunk.shopper_lo, chunk.shopper_hi), now=now
        )
    _count(run_id=run.pk, counts=counts, now=now)
    if webhook_wanted(merchant=campaign.merchant, type=EventType.CAMPAIGN_RUN_FINISHED):
        _emit_if_last(run_id=run.pk, campaign=campaign, now=now)
    return counts


def _emit_if_last(*, run_id: int, campaign: Campaign, now: datetime) -> None:
    """``campaign.run.finished`` when this chunk's counter update ended the run: the run is
    done at this chunk's ``now``. Its row lock (taken by the update) is held, so nobody
    else can have ended it since."""
    run = CampaignRun.objects.filter(pk=run_id, status=CampaignRun.Status.DONE, finished_at=now).first()
    if run is not None:
        run.campaign = campaign
        campaign_run_finished_emit(run=run, merchant=campaign.merchant)


@dataclass(frozen=True)
class _Seen:
    """The template's ``issued_count`` and the run's ``issued`` read before the insert (one
    statement, one snapshot)."""

    issued_count: int
    run_issued: int


def _settle(*, source: ChunkSource, inserted: Inserted, seen: _Seen, now: datetime) -> ChunkCounts:
    """Under the template's row lock: the limit rechecked, the stock claimed, the rest trimmed.

    Every issuer of the template moves its ``issued_count`` by the coupons it inserted, in
    the transaction that inserts them, under this lock. So when the count moved since
    ``seen`` by no more than this run's own chunks issued (other shoppers than this
    chunk's), no other issuer committed a coupon of the template meanwhile, and the
    insert's own limit check still holds: the recheck is skipped.
    """
    own_run = CampaignRun.objects.filter(pk=source.run.pk).values("issued")[:1]
    template = coupon_templates_lock().annotate(run_issued=Subquery(own_run)).get(pk=source.template.pk)
    source.template = template
    ids = inserted.ids
    if not template_issuable(template=template, now=now):  # switched off since the insert
        source.trim(ids, keep=0)
        return ChunkCounts(skipped_other=inserted.in_audience)
    others = (template.issued_count - seen.issued_count) - (template.run_issued - seen.run_issued)
    over = set(source.over_limit(ids)) if others else set()
    kept = [i for i in ids if i not in over]
    grant = len(kept) if template.stock is None else min(len(kept), template.stock - template.issued_count)
    source.trim(kept, keep=grant)
    if grant:
        claimed = CouponTemplate.objects.filter(
            Q(stock__isnull=True) | Q(issued_count__lte=F("stock") - grant), pk=template.pk
        ).update(issued_count=F("issued_count") + grant)
        if not claimed:
            raise errors.CouponOutOfStock()  # cannot happen under the lock: roll the chunk back
    skipped_limit = inserted.in_audience - inserted.eligible + len(over)
    return ChunkCounts(
        issued=grant, skipped_limit=skipped_limit, skipped_stock=inserted.in_audience - grant - skipped_limit
    )


def _nested_loops() -> None:
    """Plan the chunk's statements as nested loops over its id range (this transaction only).

    A chunk reads a few thousand shoppers of large tables; with the statistics of an
    account followed in bulk, or of the run's own coupons, the planner would rather hash
    every follow of the account for each chunk (a run quadratic in its audience).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")


def _count(*, run_id: int, counts: ChunkCounts, now: datetime) -> None:
    """Move the run's counters in one ``UPDATE`` (its row lock: lock order 8); the last
    chunk marks a running run done (a cancelled one stays cancelled)."""
    last = Q(chunks_done=F("chunks_total") - 1, status=CampaignRun.Status.RUNNING)
    CampaignRun.objects.filter(pk=run_id).update(
        issued=F("issued") + counts.issued,
        skipped_limit=F("skipped_limit") + counts.skipped_limit,
        skipped_stock=F("skipped_stock") + counts.skipped_stock,
        skipped=F("skipped") + counts.skipped_limit + counts.skipped_stock + counts.skipped_other,
        chunks_done=F("chunks_done") + 1,
        status=Case(When(last, then=Value(CampaignRun.Status.DONE)), default=F("status")),
        finished_at=Case(When(last, then=Value(now)), default=F("finished_at")),
    )
