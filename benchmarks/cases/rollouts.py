"""A rollout stage to every follower of a merchant, beside the same messages from raw SQL.

The stage (``rollout_stage_send``) walks the audience in chunks through
``core.jobs.chunks_run``: per chunk the chunk's shopper locks, then one ``INSERT ...
SELECT`` of the messages, delivered or deferred by the daily cap. The raw twin
is one ``INSERT ... SELECT`` of the same messages, delivered, with no cap, no locks
and no chunks: the floor. Raw, project, raw again; the baseline is the raw mean. The
inbox is vacuumed before each side (``_clear``), so no side pays for its predecessor's
deleted rows.
"""

import time

from django.db import connection
from django.utils import timezone

from benchmarks.progress import say
from benchmarks.registry import Result, benchmark, ratio_at_least
from members.fan_counts import fan_counts_recount
from members.models import Account, Follow, Merchant, Shopper
from storefront.models import InboxMessage, Product, PushRollout
from storefront.services.rollouts import rollout_stage_send

SLUG = "bench-rollout"


@benchmark("rollouts.stage", title="Rollout stage to all followers, beside raw INSERT ... SELECT")
def rollouts_stage(ctx) -> list[Result]:
    followers = min(ctx.scale.rollout_followers, Shopper.objects.count())
    merchant, product = _setup(followers)
    try:
        rollout = PushRollout.objects.create(
            product=product,
            merchant=merchant,
            stage=PushRollout.Stage.FOLLOWERS,
            stage_started_at=timezone.now(),
        )
        raw = [_raw(product, rollout)]
        _clear(rollout)
        started = time.perf_counter()
        delivered = rollout_stage_send(rollout=rollout)
        project = time.perf_counter() - started
        sent = InboxMessage.objects.filter(rollout=rollout).count()
        _clear(rollout)
        raw.append(_raw(product, rollout))
        _clear(rollout)
    finally:
        _teardown()
    if sent != followers or delivered != followers:
        raise AssertionError(f"the stage wrote {sent} and delivered {delivered} of {followers} messages")
    baseline = sum(raw) / len(raw)
    rate, raw_rate = followers / project, followers / baseline
    say(f"  project  rollout_stage_send {followers:>8} messages in {project:6.2f}s {rate:9.0f} rows/s")
    say(f"  raw SQL  INSERT ... SELECT  {followers:>8} messages in {baseline:6.2f}s {raw_rate:9.0f} rows/s")
    say(f"  ratio    {rate / raw_rate:.2f}x of raw")
    return [
        Result("rollouts.stage.throughput", rate, "rows/s", baseline=raw_rate, target=ratio_at_least(0.5)),
    ]


def _setup(followers: int) -> tuple[Merchant, Product]:
    """A merchant whose one account the first ``followers`` shoppers follow, and a product
    with no category or tags (every follower matches)."""
    _teardown()
    merchant = Merchant.objects.create(slug=SLUG, name="Bench rollout")
    account = Account.objects.create(
        merchant=merchant, handle=SLUG, kind=Account.Kind.BRAND, display_name="B"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Follow._meta.db_table} (shopper_id, account_id, created_at, score, iron_fan)"
            f" SELECT id, %s, now(), 0, false FROM {Shopper._meta.db_table} ORDER BY id LIMIT %s",
            [account.pk, followers],
        )
        cursor.execute(f"ANALYZE {Follow._meta.db_table}")
        cursor.execute(f"VACUUM ANALYZE {InboxMessage._meta.db_table}")
    fan_counts_recount(account_ids=[account.pk])  # loaded around the services, so counted after
    product = Product.objects.create(
        merchant=merchant, sku="BENCH-ROLLOUT", title="Bench", price=1, tags=[], published_at=timezone.now()
    )
    say(f"  {followers} followers of one account")
    return merchant, product


def _raw(product: Product, rollout: PushRollout) -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {InboxMessage._meta.db_table}
                (shopper_id, product_id, rollout_id, stage, created_at, delivered_at)
            SELECT DISTINCT f.shopper_id, %s, %s, 'followers', now(), now()
            FROM {Follow._meta.db_table} f JOIN {Account._meta.db_table} a ON a.id = f.account_id
            WHERE a.merchant_id = %s
            """,
            [product.pk, rollout.pk, product.merchant_id],
        )
    return time.perf_counter() - started


def _clear(rollout: PushRollout) -> None:
    """Delete the messages and vacuum, so that each side starts from the same clean table.

    Without the vacuum the side after another finds its predecessor's million dead rows
    in the inbox indexes: the service's cap count (today's pushes per shopper) visited
    each of them, which measured the order of the sides rather than the code.
    """
    InboxMessage.objects.filter(rollout=rollout).delete()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {InboxMessage._meta.db_table}")


def _teardown() -> None:
    merchant = Merchant.objects.filter(slug=SLUG).first()
    if merchant is None:
        return
    InboxMessage.objects.filter(rollout__merchant=merchant).delete()
    PushRollout.objects.filter(merchant=merchant).delete()
    Follow.objects.filter(account__merchant=merchant).delete()
    merchant.delete()
