"""The scheduled work of iron fans: recompute statuses, snapshot daily stats, retention.

Each job is set-based SQL over one range of primary keys at a time, so that the
ranges can be shared out between workers, and each is safe to run twice or twice at
once:

- **recompute** (hourly): for each follow of a merchant in the range, the score is
  brought to ``now`` in the comparison only (``score * 0.5 ** ((now - score_at) /
  half_life)``; nothing is written for it). A fan at or above ``promote_at``, active
  on at least ``min_active_days`` distinct days of the last 30, becomes an iron fan;
  an iron fan falls back only below ``demote_below``. The two ``UPDATE``s carry their
  whole condition on the row they change, so a second run at the same time, waiting
  on the row lock, re-checks it on the new row and changes nothing: two runs end as
  one. Only rows whose status changes are written; the counts of the day go into
  ``AccountDailyStat.promoted``/``demoted``.
- **snapshot** (nightly, for the day that just ended): fans and iron fans per account.
- **prune** (nightly): events older than the retention window.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.jobs import chunks_enqueue, chunks_run
from members.engagement import partitions, scoring, sql
from members.engagement.fan_events import FanChange, iron_fan_changes_emit
from members.engagement.models import AccountDailyStat, EngagementEvent, EngagementScore, FanPolicy
from members.engagement.selectors import fan_policy_get
from members.fan_counts import fan_counts_move
from members.iron_fan_flags import iron_fan_flags_sync, iron_fan_memberships_lock
from members.locks import waiting_scores_lock
from members.models import Account, Follow, Merchant

# Follows per range (by id): one transaction each, a few hundred milliseconds at most.
RECOMPUTE_CHUNK_FOLLOWS = 50_000
PRUNE_BATCH_EVENTS = 10_000

FOLLOW = Follow._meta.db_table
ACCOUNT = Account._meta.db_table
EVENT = EngagementEvent._meta.db_table
WAITING = EngagementScore._meta.db_table
STAT = AccountDailyStat._meta.db_table


@dataclass
class RecomputeResult:
    promoted: int = 0
    demoted: int = 0
    ranges: int = 0
    by_account: dict[int, tuple[int, int]] = field(default_factory=dict)

    def add(self, other: "RecomputeResult") -> None:
        self.promoted += other.promoted
        self.demoted += other.demoted
        self.ranges += other.ranges
        for account_id, (up, down) in other.by_account.items():
            was_up, was_down = self.by_account.get(account_id, (0, 0))
            self.by_account[account_id] = (was_up + up, was_down + down)


def merchant_follows(merchant: Merchant):
    """The follows the recompute walks, in id ranges (``core.jobs``)."""
    return Follow.objects.filter(account__merchant=merchant)


def iron_fans_recompute_enqueue(*, merchant: Merchant, now: datetime, task) -> int:
    """Share the merchant out: fold its waiting scores, then one ``task`` per id range,
    sent when this transaction commits; the number of ranges."""
    with transaction.atomic():
        waiting_scores_fold(merchant=merchant, policy=fan_policy_get(merchant=merchant))
        return chunks_enqueue(
            merchant_follows(merchant),
            size=RECOMPUTE_CHUNK_FOLLOWS,
            task=task,
            merchant_id=merchant.pk,
            now=now.isoformat(),
        )


def iron_fans_recompute(*, merchant: Merchant, now: datetime | None = None) -> RecomputeResult:
    """The whole merchant in this process, range after range (the command and tests).

    The hourly task shares the ranges out between workers instead
    (``members.tasks.recompute_iron_fans``, one task per range).
    """
    now = now or timezone.now()
    policy = fan_policy_get(merchant=merchant)
    waiting_scores_fold(merchant=merchant, policy=policy)
    result = RecomputeResult()
    ranges = chunks_run(
        merchant_follows(merchant),
        size=RECOMPUTE_CHUNK_FOLLOWS,
        work=lambda chunk: iron_fans_recompute_range(
            merchant=merchant, policy=policy, lo=chunk.lo, hi=chunk.hi, now=now
        ),
    )
    for done in ranges.done:
        result.add(done)
    return result


def _decayed_score(now_param: str, half_life_param: str) -> str:
    return f"{FOLLOW}.score * " + sql.decay(
        later=now_param,
        earlier=f"COALESCE({FOLLOW}.score_at, {now_param})",
        half_life_seconds=half_life_param,
    )


def _active_days(now_param: str, since_param: str) -> str:
    return (
        f"(SELECT COUNT(DISTINCT {sql.utc_date('e.occurred_at')}) FROM {EVENT} e "
        f"WHERE e.account_id = {FOLLOW}.account_id AND e.shopper_id = {FOLLOW}.shopper_id "
        f"AND e.occurred_at > {since_param} AND e.occurred_at <= {now_param})"
    )


def _recompute_sql(changing: str) -> tuple[str, str, str]:
    """The follows of the range whose status changes (read first), then the promotion and
    the demotion of those of them (``changing``: a condition on their ids) that still qualify.

    The updates name the follows by id only: a follow's account, hence its merchant, never
    changes, so the merchant's condition the read applied still holds. Repeating it made
    the planner probe the id list once per account of the merchant (30 accounts: 12,000
    probes and 0.4 s for 400 follows, docs/performance.md, "Iron-fan recompute").
    """
    in_range = (
        f"{FOLLOW}.id >= %(lo)s AND {FOLLOW}.id <= %(hi)s "
        f"AND {FOLLOW}.account_id IN (SELECT id FROM {ACCOUNT} WHERE merchant_id = %(merchant)s)"
    )
    decayed = _decayed_score("%(now)s", "%(half_life)s")
    promotes = f"""NOT {FOLLOW}.iron_fan
          AND {FOLLOW}.score >= %(promote_at)s
          AND {decayed} >= %(promote_at)s
          AND (%(min_active_days)s = 0 OR {_active_days("%(now)s", "%(since)s")} >= %(min_active_days)s)"""
    demotes = f"{FOLLOW}.iron_fan AND {decayed} < %(demote_below)s"
    candidates = f"""
        SELECT {FOLLOW}.id, {FOLLOW}.shopper_id FROM {FOLLOW}
        WHERE {in_range} AND (({promotes}) OR ({demotes}))
    """
    promote = f"""
        UPDATE {FOLLOW} SET iron_fan = TRUE, iron_fan_since = %(now)s
        WHERE {changing} AND {promotes}
        RETURNING {FOLLOW}.account_id, {FOLLOW}.shopper_id, {decayed}
    """
    demote = f"""
        UPDATE {FOLLOW} SET iron_fan = FALSE, iron_fan_since = NULL
        WHERE {changing} AND {demotes}
        RETURNING {FOLLOW}.account_id, {FOLLOW}.shopper_id, {decayed}
    """
    return candidates, promote, demote


@transaction.atomic
def iron_fans_recompute_range(
    *, merchant: Merchant, policy: FanPolicy, lo: int, hi: int, now: datetime
) -> RecomputeResult:
    """Promote and demote the merchant's follows with ``lo <= id <= hi``; the day's counters.

    The follows that change are read first, their shoppers' memberships locked (lock
    order: memberships before follows, ``core.locks``), then those follows updated (each
    condition checked again on the row) and the memberships' iron-fan flags set from
    the result (``members.iron_fan_flags``), and the accounts' iron-fan counts moved
    (``members.fan_counts``). Set-based: seven statements for any range, and
    for the merchant's webhooks (``fan_events``) three more when some endpoint listens.
    """
    params = {
        "lo": lo,
        "hi": hi,
        "merchant": merchant.pk,
        "now": sql.timestamp(now),
        "since": sql.timestamp(now - scoring.ACTIVE_DAYS_WINDOW),
        "half_life": policy.half_life_days * scoring.DAY_SECONDS,
        "promote_at": policy.promote_at,
        "demote_below": policy.demote_below,
        "min_active_days": policy.min_active_days,
    }
    counts: dict[int, list[int]] = {}
    changes: list[FanChange] = []
    candidates, _, _ = _recompute_sql("TRUE")
    with connection.cursor() as cursor:
        cursor.execute(candidates, params)
        rows = cursor.fetchall()
    if not rows:
        return RecomputeResult(ranges=1)
    iron_fan_memberships_lock(merchant_id=merchant.pk, shopper_ids={shopper for _, shopper in rows})
    changing = _ids_condition(f"{FOLLOW}.id", [follow_id for follow_id, _ in rows], params)
    _, promote, demote = _recompute_sql(changing)
    with connection.cursor() as cursor:
        for statement, column in ((promote, 0), (demote, 1)):
            cursor.execute(statement, params)
            for account_id, shopper_id, score in cursor.fetchall():
                counts.setdefault(account_id, [0, 0])[column] += 1
                changes.append(FanChange(account_id, shopper_id, float(score), promoted=column == 0))
    iron_fan_flags_sync(merchant_id=merchant.pk, shopper_ids={change.shopper_id for change in changes})
    fan_counts_move({account_id: (0, up - down) for account_id, (up, down) in counts.items()})
    if counts:
        _count_changes(day=now.astimezone(UTC).date(), counts=counts)
    iron_fan_changes_emit(merchant=merchant, changes=changes, now=now)
    return RecomputeResult(
        promoted=sum(up for up, _ in counts.values()),
        demoted=sum(down for _, down in counts.values()),
        ranges=1,
        by_account={account_id: (up, down) for account_id, (up, down) in counts.items()},
    )


def _ids_condition(column: str, ids: list[int], params: dict) -> str:
    """``column`` is one of ``ids``, as named parameters added to ``params``."""
    if connection.vendor == "postgresql":
        params["changing"] = ids
        return f"{column} = ANY(%(changing)s)"
    params.update({f"changing{i}": value for i, value in enumerate(ids)})
    return f"{column} IN ({', '.join(f'%(changing{i})s' for i in range(len(ids)))})"


def _count_changes(*, day: date, counts: dict[int, list[int]]) -> None:
    rows = [(account_id, sql.day(day), up, down, 0, 0) for account_id, (up, down) in sorted(counts.items())]
    source, params = sql.rows_source(rows, ("bigint", "date", "integer", "integer", "integer", "integer"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {STAT} (account_id, date, promoted, demoted, fans, iron_fans) {source}
            ON CONFLICT (account_id, date) DO UPDATE SET
                promoted = {STAT}.promoted + excluded.promoted,
                demoted = {STAT}.demoted + excluded.demoted
            """,
            params,
        )


@transaction.atomic
def waiting_scores_fold(*, merchant: Merchant, policy: FanPolicy) -> int:
    """Move onto follows the waiting scores of shoppers who follow now; the rows moved.

    ``follow_adopt_score`` moves the score when the follow is made; a batch that was
    in flight at that moment may still have written a waiting row. Folding it here
    keeps every point, within the hour.
    """
    half_life = policy.half_life_days * scoring.DAY_SECONDS
    pair = f"w.account_id = {FOLLOW}.account_id AND w.shopper_id = {FOLLOW}.shopper_id"
    beside_a_follow = Exists(Follow.objects.filter(account=OuterRef("account"), shopper=OuterRef("shopper")))
    ids = list(
        waiting_scores_lock().filter(beside_a_follow, account__merchant=merchant).values_list("pk", flat=True)
    )
    if not ids:
        return 0
    with connection.cursor() as cursor:
        old_at = f"COALESCE({FOLLOW}.score_at, w.score_at)"
        new_at = sql.greatest(old_at, "w.score_at")
        # In SET, the follow's columns are its old values, so both decays use the stored times.
        cursor.execute(
            f"""
            UPDATE {FOLLOW} SET
                score = {FOLLOW}.score * {sql.decay(later=new_at, earlier=old_at, half_life_seconds="%s")}
                        + w.score * {sql.decay(later=new_at, earlier="w.score_at", half_life_seconds="%s")},
                score_at = {new_at}
            FROM {WAITING} w
            WHERE {pair} AND w.score_at IS NOT NULL AND w.id IN ({", ".join(["%s"] * len(ids))})
            """,
            [half_life, half_life, *ids],
        )
    EngagementScore.objects.filter(pk__in=ids).delete()
    return len(ids)


# --- Daily snapshot -------------------------------------------------------------------


@dataclass
class SnapshotResult:
    day: date
    accounts: int


def day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def fan_stats_snapshot(
    *, day: date, now: datetime | None = None, merchant: Merchant | None = None
) -> SnapshotResult:
    """Every account's fans and iron fans at the end of ``day`` (UTC), one row per account.

    Counts come from the follows as they are now: those made before the day's end,
    and the iron fans promoted before it. Taken after the day has ended (the nightly
    run, or a backfill), a day's row is final: a rerun finds it taken and changes
    nothing. Taken during the day, it is provisional and the next run replaces it.
    The day's ``promoted``/``demoted`` come from the recompute job and are kept.
    """
    now = now or timezone.now()
    accounts = Account.objects.all() if merchant is None else Account.objects.for_merchant(merchant)
    written = chunks_run(
        accounts,
        size=SNAPSHOT_CHUNK_ACCOUNTS,
        work=lambda chunk: fan_stats_snapshot_range(
            day=day, now=now, lo=chunk.lo, hi=chunk.hi, merchant_id=merchant.pk if merchant else None
        ),
    )
    return SnapshotResult(day=day, accounts=sum(written.done))


SNAPSHOT_CHUNK_ACCOUNTS = 500


@transaction.atomic
def fan_stats_snapshot_range(
    *, day: date, now: datetime, lo: int, hi: int, merchant_id: int | None = None
) -> int:
    """Snapshot the accounts with ``lo <= id <= hi`` (of one merchant if given); the rows written."""
    params = {
        "day": sql.day(day),
        "end": sql.timestamp(day_end(day)),
        "now": sql.timestamp(now),
        "lo": lo,
        "hi": hi,
        "merchant": merchant_id,
    }
    only_merchant = "AND a.merchant_id = %(merchant)s" if merchant_id is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {STAT} (account_id, date, fans, iron_fans, promoted, demoted, snapshot_at)
            SELECT a.id, %(day)s,
                (SELECT COUNT(*) FROM {FOLLOW} f WHERE f.account_id = a.id AND f.created_at < %(end)s),
                (SELECT COUNT(*) FROM {FOLLOW} f
                 WHERE f.account_id = a.id AND f.iron_fan AND f.iron_fan_since < %(end)s),
                0, 0, %(now)s
            FROM {ACCOUNT} a
            WHERE a.id >= %(lo)s AND a.id <= %(hi)s {only_merchant}
            ON CONFLICT (account_id, date) DO UPDATE SET
                fans = excluded.fans, iron_fans = excluded.iron_fans, snapshot_at = excluded.snapshot_at
            WHERE {STAT}.snapshot_at IS NULL OR {STAT}.snapshot_at < %(end)s
            """,
            params,
        )
        return cursor.rowcount


# --- Retention --------------------------------------------------------------------------


@dataclass
class PruneResult:
    cutoff: datetime
    deleted_rows: int = 0
    dropped_months: list[date] = field(default_factory=list)
    created_months: list[date] = field(default_factory=list)


def retention_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=settings.ENGAGEMENT_RETENTION_DAYS)


def engagement_prune(*, now: datetime | None = None, batch: int = PRUNE_BATCH_EVENTS) -> PruneResult:
    """Forget events older than the retention window; scores never need them.

    PostgreSQL drops whole months past the window (and creates the coming months, so
    that new events never wait in the default partition); what is left of old events
    in the default partition, and every old event on SQLite, goes in batches.
    """
    now = now or timezone.now()
    result = PruneResult(cutoff=retention_cutoff(now))
    if partitions.is_partitioned():
        with transaction.atomic(), connection.cursor() as cursor:
            this_month = partitions.month_start(now.astimezone(UTC).date())
            result.created_months = partitions.ensure_months(
                cursor, first=this_month, last=partitions.add_months(this_month, partitions.MONTHS_AHEAD)
            )
            result.dropped_months = partitions.drop_months_before(cursor, result.cutoff)
        # What is left past the cutoff: the default partition's old rows on PostgreSQL
    # (partition pruning keeps the scan to it), every old row on SQLite.
    old = EngagementEvent.objects.filter(occurred_at__lt=result.cutoff)
    deleted = chunks_run(
        old,
        size=batch,
        work=lambda chunk: old.filter(pk__gte=chunk.lo, pk__lte=chunk.hi).delete()[0],
    )
    result.deleted_rows = sum(deleted.done)
    return result
