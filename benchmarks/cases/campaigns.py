"""Campaign issuance: every shopper of the dataset as the audience, two worker processes,
beside a raw ``INSERT ... SELECT`` of the same coupons; and the audience's dry run.

The audience is every follower of one account made for the run, which every shopper
of the dataset follows (a million at the default scale). The baseline inserts the same
coupons (same columns, same code expression) for the same shoppers in one statement,
in a transaction rolled back afterwards. The run is the real one: the start splits
the audience into chunks (``campaign_run_start``) and two processes forked from this
one take the chunk tasks as two Celery workers of one process each would (the task
body, ``campaign_chunks_issue``, without the broker: a thousand small messages are not
what is measured). The time runs from the start to the last chunk's commit. Each
worker reports its peak RSS.
"""

import multiprocessing
import resource
import time
from datetime import timedelta

from django.db import connection, connections, transaction
from django.utils import timezone

from benchmarks.progress import say
from benchmarks.registry import Result, at_most, benchmark, ratio_at_least
from coupons.audiences import audience_size
from coupons.models import Campaign, CampaignRun, Coupon, CouponTemplate
from coupons.services import campaign_runs, campaign_sql
from members.fan_counts import fan_counts_recount
from members.models import Account, Follow, Shopper

WORKERS = 2
THROUGHPUT_RATIO = 0.67  # issue 12
WORKER_RSS_MB = 300
DRY_RUN_SECONDS = 2


@benchmark(
    "campaigns.issue", title="Campaign issuance to every shopper with two workers (vs raw INSERT ... SELECT)"
)
def campaigns_issue(ctx) -> list[Result]:
    merchant = ctx.data.merchant
    handle = f"bench-campaign-{ctx.data.run_id}"
    account = Account.objects.create(
        merchant=merchant, handle=handle, kind=Account.Kind.KOE, display_name="Bench"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Follow._meta.db_table} (shopper_id, account_id, created_at, score, iron_fan)"
            f" SELECT id, %s, now(), 0, false FROM {Shopper._meta.db_table}",
            [account.pk],
        )
        # As the dataset's build does after loading: a million follows in one statement
        # leave the planner's statistics saying the account has none, and the visibility
        # map unset (an index-only count would read every row).
        cursor.execute(f"VACUUM ANALYZE {Follow._meta.db_table}")
    fan_counts_recount(account_ids=[account.pk])  # loaded around the services, so counted after
    template = CouponTemplate.objects.create(
        merchant=merchant, name=f"Campaign {ctx.data.run_id}", kind="fixed", value=5, valid_days=30
    )
    audience = {"followers_of": handle}
    campaign = Campaign.objects.create(
        merchant=merchant, name=template.name, template=template, audience=audience
    )

    started = time.perf_counter()
    size = audience_size(merchant=merchant, audience=audience)
    dry_run = time.perf_counter() - started
    say(f"  audience: {size} shoppers; dry run {dry_run:.2f} s")

    baseline = _raw_insert_rate(template=template, account=account)
    say(f"  raw INSERT ... SELECT: {baseline:,.0f} coupons/s")

    try:
        rate, rss = _run(campaign=campaign, size=size)
    finally:
        _clean(campaign=campaign, account=account)
    say(f"  run with {WORKERS} workers: {rate:,.0f} coupons/s; worker peak RSS {max(rss):.0f} MB")
    return [
        Result(
            "campaigns.issue.throughput",
            rate,
            "coupons/s",
            baseline=baseline,
            target=ratio_at_least(THROUGHPUT_RATIO),
        ),
        Result("campaigns.issue.worker_rss", max(rss), "MB", target=at_most(WORKER_RSS_MB)),
        Result("campaigns.audience.dry_run", dry_run, "s", target=at_most(DRY_RUN_SECONDS)),
    ]


class _Rollback(Exception):
    pass


def _raw_insert_rate(*, template: CouponTemplate, account: Account) -> float:
    code, lateral = campaign_sql.code_sql()
    now = timezone.now()
    started = time.perf_counter()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {Coupon._meta.db_table}
                    (template_id, merchant_id, shopper_id, code, state, source, order_id,
                     campaign_run_id, issued_at, valid_from, expires_at, redeemed_at)
                SELECT %s, %s, e.id, {code}, 'issued', 'campaign', NULL, NULL, %s, NULL, %s, NULL
                FROM (SELECT shopper_id AS id FROM {Follow._meta.db_table} WHERE account_id = %s) e {lateral}
                """,
                [template.pk, template.merchant_id, now, now + timedelta(days=30), account.pk],
            )
            inserted = cursor.rowcount
            elapsed = time.perf_counter() - started
            raise _Rollback
    except _Rollback:
        pass
    return inserted / elapsed


def _run(*, campaign: Campaign, size: int) -> tuple[float, list[float]]:
    sent: list[tuple[int, int]] = []
    tasks = campaign_runs._tasks()
    real_delay = tasks.campaign_chunks_issue.delay
    tasks.campaign_chunks_issue.delay = lambda **kwargs: sent.append((kwargs["lo"], kwargs["hi"]))
    try:
        started = time.perf_counter()
        run = CampaignRun.objects.create(campaign=campaign, merchant_id=campaign.merchant_id)
        campaign_runs.campaign_run_start(run_id=run.pk)
    finally:
        tasks.campaign_chunks_issue.delay = real_delay
    connections.close_all()  # each worker opens its own
    context = multiprocessing.get_context("fork")
    with context.Pool(WORKERS) as pool:
        rss = pool.map(_work, [sent[i::WORKERS] for i in range(WORKERS)])
    elapsed = time.perf_counter() - started
    run.refresh_from_db()
    if (run.status, run.issued) != ("done", size):
        raise AssertionError(f"the run ended {run.status} with {run.issued} of {size} issued")
    return size / elapsed, rss


def _clean(*, campaign: Campaign, account: Account) -> None:
    """Take the run's coupons and the account's follows out again (not timed), so that a
    benchmark repeated on the same dataset (``--reuse-data``) finds the tables as they were."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {Coupon._meta.db_table} WHERE campaign_run_id IN"
            f" (SELECT id FROM {CampaignRun._meta.db_table} WHERE campaign_id = %s)",
            [campaign.pk],
        )
        cursor.execute(f"DELETE FROM {Follow._meta.db_table} WHERE account_id = %s", [account.pk])
    with connection.cursor() as cursor:  # outside a transaction: VACUUM cannot run in one
        cursor.execute(f"VACUUM ANALYZE {Coupon._meta.db_table}, {Follow._meta.db_table}")
    say(f"  cleaned up in {time.perf_counter() - started:.0f} s")


def _work(ranges: list[tuple[int, int]]) -> float:
    connections.close_all()
    for lo, hi in ranges:
        campaign_runs.campaign_chunks_issue(lo=lo, hi=hi)
    connections.close_all()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
