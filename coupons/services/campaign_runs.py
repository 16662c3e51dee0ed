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
   its work locks the template, claims the stock for the chunk in one guarded ``UPDATE``,
   inserts the coupons with one ``INSERT ... SELECT`` from the audience query (unique
   ``(campaign_run, shopper)``), and moves the run's counters. The chunk whose counter
   update makes ``chunks_done == chunks_total`` marks the run done.

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
from django.db.models import F, Q
from django.utils import timezone

from core.jobs import Chunk, chunks, chunks_enqueue, chunks_run
from core.outbox import outbox_send
from coupons import errors
from coupons.audiences import audience_compile
from coupons.locks import campaign_runs_lock, coupon_templates_lock
from coupons.models import (
    CODE_ALPHABET,
    CODE_LENGTH,
    Campaign,
    CampaignRun,
    CampaignRunChunk,
    Coupon,
    CouponTemplate,
)
from coupons.services.issuing import coupon_validity

logger = logging.getLogger(__name__)

# Shoppers per chunk: a million is a thousand tasks, each a transaction of a few statements.
CAMPAIGN_CHUNK = 1000
UNFINISHED = (CampaignRun.Status.QUEUED, CampaignRun.Status.RUNNING)
COUPON = Coupon._meta.db_table


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
        return run
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
def campaign_run_fail(*, chunk_id: int, error: str) -> None:
    """A chunk failed for a reason a retry will not cure: the run stops, to be resumed."""
    run_id = CampaignRunChunk.objects.filter(pk=chunk_id).values_list("run_id", flat=True).first()
    run = campaign_runs_lock().filter(pk=run_id, status=CampaignRun.Status.RUNNING).first()
    if run is not None:
        run.status, run.error, run.finished_at = CampaignRun.Status.FAILED, error[:2000], timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])


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
    chunk = CampaignRunChunk.objects.select_related("run__campaign__merchant").get(pk=chunk_id)
    run = chunk.run
    campaign = run.campaign
    audience = audience_compile(merchant=campaign.merchant, audience=campaign.audience, now=run.started_at)
    in_range = audience.filter(pk__gte=chunk.shopper_lo, pk__lte=chunk.shopper_hi).values("id")
    # Lock order 7: the template, before the limit is counted (the lock every issuer takes).
    template = coupon_templates_lock().get(pk=campaign.template_id)
    now = timezone.now()
    sql, params = in_range.query.sql_with_params()
    _nested_loops()
    source = _Source(sql=sql, params=list(params), template=template, run=run, now=now)
    in_audience, eligible = source.counts()
    if not template_issuable(template=template, now=now):
        counts = ChunkCounts(skipped_other=in_audience)
    else:
        grant = eligible if template.stock is None else min(eligible, template.stock - template.issued_count)
        inserted = 0
        if grant > 0:
            claimed = CouponTemplate.objects.filter(
                Q(stock__isnull=True) | Q(issued_count__lte=F("stock") - grant), pk=template.pk
            ).update(issued_count=F("issued_count") + grant)
            if not claimed:
                raise errors.CouponOutOfStock()  # cannot happen under the lock: roll the chunk back
            inserted = source.insert(limit=grant)
            if inserted < grant:  # shoppers this run already reached: give their stock back
                CouponTemplate.objects.filter(pk=template.pk).update(
                    issued_count=F("issued_count") - (grant - inserted)
                )
        counts = ChunkCounts(
            issued=inserted, skipped_limit=in_audience - eligible, skipped_stock=eligible - inserted
        )
    CampaignRunChunk.objects.filter(pk=chunk.pk).update(
        issued=counts.issued, skipped_limit=counts.skipped_limit, skipped_stock=counts.skipped_stock
    )
    _count(run_id=run.pk, counts=counts, now=now)
    return counts


def _nested_loops() -> None:
    """Plan the chunk's statements as nested loops over its id range (this transaction only).

    A chunk reads a thousand shoppers of large tables; with the statistics of an account
    followed in bulk, or of the run's own coupons, the planner would rather hash every
    follow of the account for each chunk (a run quadratic in its audience).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")


def _count(*, run_id: int, counts: ChunkCounts, now: datetime) -> None:
    """Move the run's counters (lock order 8); the last chunk marks the run done."""
    run = campaign_runs_lock().get(pk=run_id)
    run.issued += counts.issued
    run.skipped_limit += counts.skipped_limit
    run.skipped_stock += counts.skipped_stock
    run.skipped += counts.skipped_limit + counts.skipped_stock + counts.skipped_other
    run.chunks_done += 1
    fields = ["issued", "skipped", "skipped_limit", "skipped_stock", "chunks_done"]
    if run.chunks_done == run.chunks_total:
        run.status, run.finished_at = CampaignRun.Status.DONE, now
        fields += ["status", "finished_at"]
    run.save(update_fields=fields)


@dataclass
class _Source:
    """One chunk's audience as SQL, with the per-shopper limit beside each shopper."""

    sql: str
    params: list
    template: CouponTemplate
    run: CampaignRun
    now: datetime

    def _held(self) -> tuple[str, list, str, list]:
        """(FROM clause, its params, the count expression ``n``, its params): the chunk's
        audience ``a`` and, per shopper, the unused coupons of the template it holds.

        One probe of the (template, shopper, state) index per shopper (the template's own
        foreign-key index is gone, so a planner that believes the template has no coupon
        yet cannot scan all of them for every shopper instead). PostgreSQL joins it
        LATERAL; SQLite, which has no LATERAL, reads it as a correlated subquery.
        """
        count = (
            f"SELECT COUNT(*) AS n FROM {COUPON} c"
            f" WHERE c.template_id = %s AND c.shopper_id = a.id AND c.state = %s AND c.expires_at > %s"
        )
        count_params = [
            self.template.pk,
            Coupon.State.ISSUED,
            connection.ops.adapt_datetimefield_value(self.now),
        ]
        if connection.vendor == "postgresql":
            return f"({self.sql}) a CROSS JOIN LATERAL ({count}) h", [*self.params, *count_params], "h.n", []
        return f"({self.sql}) a", list(self.params), f"({count})", count_params

    def counts(self) -> tuple[int, int]:
        """(shoppers of the audience in the chunk, of whom under the template's limit)."""
        source, source_params, n, n_params = self._held()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {n} < %s THEN 1 ELSE 0 END), 0) FROM {source}",
                [*n_params, self.template.per_member_limit, *source_params],
            )
            total, eligible = cursor.fetchone()
        return int(total), int(eligible)

    def insert(self, *, limit: int) -> int:
        """Insert the coupons of the first ``limit`` eligible shoppers (by id); how many."""
        ops = connection.ops
        valid_from, expires_at = coupon_validity(template=self.template, now=self.now)
        source, source_params, n, n_params = self._held()
        code, lateral = _code_sql()
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {COUPON}
                    (template_id, merchant_id, shopper_id, code, state, source, order_id,
                     campaign_run_id, issued_at, valid_from, expires_at, redeemed_at)
                SELECT %s, %s, e.id, {code}, %s, %s, NULL, %s, %s, %s, %s, NULL
                FROM (SELECT a.id FROM {source} WHERE {n} < %s ORDER BY a.id LIMIT %s) e
                {lateral}
                WHERE true
                ON CONFLICT (campaign_run_id, shopper_id) DO NOTHING
                """,
                [
                    self.template.pk,
                    self.template.merchant_id,
                    Coupon.State.ISSUED,
                    Coupon.Source.CAMPAIGN,
                    self.run.pk,
                    ops.adapt_datetimefield_value(self.now),
                    ops.adapt_datetimefield_value(valid_from),
                    ops.adapt_datetimefield_value(expires_at),
                    *source_params,
                    *n_params,
                    self.template.per_member_limit,
                    limit,
                ],
            )
            return cursor.rowcount


def _code_sql() -> tuple[str, str]:
    """A new code per row in SQL, from the 32 symbols of ``CODE_ALPHABET``.

    PostgreSQL: 60 bits of ``gen_random_uuid()`` (the random part after its version and
    variant digits; a cryptographic source), five bits a symbol. SQLite (development):
    ``random()`` per symbol. A clash with an existing code fails the chunk's transaction
    on the unique index and the task retries it with new codes.
    """
    if connection.vendor == "postgresql":
        symbols = " || ".join(
            f"substr('{CODE_ALPHABET}', ((r.v >> {5 * i}) & 31)::int + 1, 1)" for i in range(CODE_LENGTH)
        )
        lateral = (
            "CROSS JOIN LATERAL (SELECT ('x' || substr(replace(gen_random_uuid()::text, '-', ''), 18, 15))"
            "::bit(60)::bigint AS v WHERE e.id IS NOT NULL) r"
        )
        return symbols, lateral
    symbols = " || ".join(
        f"substr('{CODE_ALPHABET}', (abs(random()) % 32) + 1, 1)" for _ in range(CODE_LENGTH)
    )
    return symbols, ""
