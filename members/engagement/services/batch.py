"""A batch of engagement events in, fan scores moved.

``engagement_store`` takes a whole batch in a fixed number of statements, however
many events it holds: the accounts (1), the shoppers (2), the events (1), the
followers' scores (1) and the scores of those who engage without following (1).
The decay runs in SQL on the stored ``(score, score_at)``, so two batches touching
the same fan serialise on the row and neither loses the other's points.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
from django.db import connection, transaction
from django.utils import timezone

from members import errors
from members.engagement import scoring, sql
from members.engagement.models import EngagementEvent, EngagementScore, FanPolicy
from members.models import Account, Follow, Merchant, Shopper

# Quantities above this are refused: a day's minutes of live watching, or a day's
# likes folded into one event, is the most a platform sends as one event.
MAX_QUANTITY = 1440
MAX_BATCH = 1000
# Platforms' clocks drift: an event up to this far ahead of ours is taken as now-ish.
MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class EventInput:
    shopper: str  # the platform's user id (Shopper.external_id)
    account: str  # the account's handle
    kind: str
    occurred_at: datetime
    quantity: int = 1
    sku: str = ""
    source_id: str | None = None


@dataclass(frozen=True)
class StoredEvent:
    account_id: int
    shopper_id: int
    kind: str
    quantity: int
    sku: str
    occurred_at: datetime


@dataclass(frozen=True)
class EngagementResult:
    accepted: int
    duplicates: int
    # The stored events that name a sku, for the layers above (product preferences).
    stored: list[StoredEvent]


@transaction.atomic(savepoint=False)  # all or nothing with the caller's transaction
def engagement_store(
    *, merchant: Merchant, events: Sequence[EventInput], policy: FanPolicy, now: datetime | None = None
) -> EngagementResult:
    """Store a batch of events (dedupe by account, event id and time) and move the scores.

    Refused whole, writing nothing, when an event names an account that is not this
    merchant's. Unknown shoppers are created. A shopper who does not follow the
    account is recorded and earns a score that waits for their follow.
    """
    if not events:
        return EngagementResult(accepted=0, duplicates=0, stored=[])
    latest_allowed = (now or timezone.now()) + MAX_CLOCK_SKEW
    for index, event in enumerate(events):
        if event.occurred_at > latest_allowed:
            raise errors.EngagementInFuture(attr=f"events.{index}.occurred_at")
    accounts = _accounts_by_handle(merchant=merchant, events=events)
    shoppers = shopper_ids_get_or_create(external_ids={e.shopper for e in events})
    rows, seen = [], set()
    stamp = connection.ops.adapt_datetimefield_value  # looked up once, not per event
    for event in events:
        account_id = accounts[event.account]
        if event.source_id is not None:
            key = (account_id, event.source_id, event.occurred_at)
            if key in seen:  # the same event twice in one batch
                continue
            seen.add(key)
        rows.append(
            (
                account_id,
                shoppers[event.shopper],
                event.kind,
                event.quantity,
                event.sku,
                event.source_id,
                stamp(event.occurred_at),
            )
        )
    if connection.vendor == "postgresql":
        accepted, with_sku = _store_and_score(rows, policy)
    else:
        stored = _insert_events(rows)
        scores_add(events=stored, policy=policy)
        accepted, with_sku = len(stored), [e for e in stored if e.sku]
    return EngagementResult(accepted=accepted, duplicates=len(events) - accepted, stored=with_sku)


def _accounts_by_handle(*, merchant: Merchant, events: Sequence[EventInput]) -> dict[str, int]:
    handles = {e.account for e in events}
    found = dict(Account.objects.filter(merchant=merchant, handle__in=handles).values_list("handle", "pk"))
    for index, event in enumerate(events):
        if event.account not in found:
            raise errors.EngagementAccountUnknown(attr=f"events.{index}.account")
    return found


def shopper_ids_get_or_create(*, external_ids: set[str]) -> dict[str, int]:
    """Shopper ids by platform id, creating the unknown ones.

    PostgreSQL: one statement that reads the known ones and inserts only the others (a
    batch of known shoppers, the usual case, inserts nothing and probes each once); the
    shoppers another transaction created meanwhile, which the insert skips, are read
    afterwards. SQLite: insert what is missing, then read all.
    """
    table = Shopper._meta.db_table
    ids = sorted(external_ids)
    now = sql.timestamp(timezone.now())
    source, params = sql.rows_source([(x, "", now) for x in ids], ("text", "text", "timestamptz"))
    wanted, wanted_params = sql.any_of("external_id", ids)
    if connection.vendor == "postgresql":  # the ids once, in the same JSON parameter
        wanted = f"external_id IN (SELECT w.external_id FROM ({source}) AS w (external_id))"
        wanted_params = params
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""
                WITH wanted (external_id, display_name, created_at) AS ({source}),
                found AS (
                    SELECT external_id, id FROM {table}
                    WHERE external_id IN (SELECT external_id FROM wanted)
                ),
                created AS (
                    INSERT INTO {table} (external_id, display_name, created_at)
                    SELECT * FROM wanted w
                    WHERE NOT EXISTS (SELECT 1 FROM found f WHERE f.external_id = w.external_id)
                    ORDER BY w.external_id
                    ON CONFLICT (external_id) DO NOTHING
                    RETURNING external_id, id
                )
                SELECT external_id, id FROM found UNION ALL SELECT external_id, id FROM created
                """,
                params,
            )
            found = dict(cursor.fetchall())
            if len(found) == len(ids):
                return found
        else:
            cursor.execute(
                f"INSERT INTO {table} (external_id, display_name, created_at) {source} "
                "ON CONFLICT (external_id) DO NOTHING",
                params,
            )
        cursor.execute(f"SELECT external_id, id FROM {table} WHERE {wanted}", wanted_params)
        return dict(cursor.fetchall())


INSERT_EVENTS_SQL = (
    f"INSERT INTO {EngagementEvent._meta.db_table} "
    "(account_id, shopper_id, kind, quantity, sku, source_id, occurred_at) {source} "
    "ON CONFLICT (account_id, source_id, occurred_at) DO NOTHING "
    "RETURNING account_id, shopper_id, kind, quantity, sku, occurred_at"
)
EVENT_TYPES = ("bigint", "bigint", "text", "integer", "text", "text", "timestamptz")


def _insert_events(rows: list[tuple]) -> list[StoredEvent]:
    """Insert the rows; a row whose (account, event id, time) is stored already is skipped.

    Two identical batches at once: the second one's insert waits on the first's
    uncommitted keys and then skips them, so each event counts once.
    """
    source, params = sql.rows_source(rows, EVENT_TYPES)
    with connection.cursor() as cursor:
        cursor.execute(INSERT_EVENTS_SQL.format(source=source), params)
        returned = cursor.fetchall()
    return [
        StoredEvent(
            account_id=a,
            shopper_id=s,
            kind=k,
            quantity=q,
            sku=sku,
            occurred_at=_as_datetime(at),
        )
        for a, s, k, q, sku, at in returned
    ]


def _store_and_score(rows: list[tuple], policy: FanPolicy) -> tuple[int, list[StoredEvent]]:
    """PostgreSQL: insert the events and fold what was stored onto the follows in one
    statement, then the waiting scores of the pairs without a follow (only when some are).

    The same arithmetic as ``scores_add``, in SQL: per (account, shopper) the stored
    events are summed, each decayed to the pair's latest event, then added to the
    follow's score decayed to the same time. Nothing travels back but the count, the
    events with a sku and the contributions that found no follow: parsing the 1000
    returned rows and folding them in Python was a third of the request's CPU.
    """
    source, params = sql.rows_source(rows, EVENT_TYPES)
    half_life = policy.half_life_days * scoring.DAY_SECONDS
    weights = msgspec.json.encode(policy.weights).decode()
    with connection.cursor() as cursor:
        cursor.execute(
            STORE_AND_SCORE_SQL.format(source=source), [*params, weights, half_life, half_life, half_life]
        )
        accepted, with_sku, unfollowed = cursor.fetchone()
    if unfollowed:
        waiting = msgspec.json.decode(unfollowed)
        add_to_waiting_scores([tuple(c) for c in waiting], half_life)
    return accepted, [
        StoredEvent(
            account_id=a, shopper_id=s, kind=k, quantity=q, sku=sku, occurred_at=datetime.fromisoformat(at)
        )
        for a, s, k, q, sku, at in (msgspec.json.decode(with_sku) if with_sku else [])
    ]


_FOLLOW = Follow._meta.db_table
_NEW_AT = sql.greatest(f"COALESCE({_FOLLOW}.score_at, v.at)", "v.at")
STORE_AND_SCORE_SQL = f"""
    WITH input (account_id, shopper_id, kind, quantity, sku, source_id, occurred_at) AS ({{source}}),
    stored AS (
        INSERT INTO {EngagementEvent._meta.db_table}
            (account_id, shopper_id, kind, quantity, sku, source_id, occurred_at)
        SELECT * FROM input
        ON CONFLICT (account_id, source_id, occurred_at) DO NOTHING
        RETURNING account_id, shopper_id, kind, quantity, sku, occurred_at
    ),
    latest AS (
        SELECT account_id, shopper_id, MAX(occurred_at) AS at FROM stored GROUP BY account_id, shopper_id
    ),
    v AS MATERIALIZED (
        SELECT l.account_id, l.shopper_id, l.at,
               SUM((%s::jsonb ->> e.kind)::float8 * e.quantity
                   * {sql.decay(later="l.at", earlier="e.occurred_at", half_life_seconds="%s")}) AS points
        FROM latest l JOIN stored e ON e.account_id = l.account_id AND e.shopper_id = l.shopper_id
        GROUP BY l.account_id, l.shopper_id, l.at
        ORDER BY l.account_id, l.shopper_id
    ),
    followed AS (
        UPDATE {_FOLLOW} SET
            score = {_FOLLOW}.score * {
    sql.decay(later=_NEW_AT, earlier=f"COALESCE({_FOLLOW}.score_at, v.at)", half_life_seconds="%s")
}
                    + v.points * {sql.decay(later=_NEW_AT, earlier="v.at", half_life_seconds="%s")},
            score_at = {_NEW_AT}
        FROM v
        WHERE {_FOLLOW}.account_id = v.account_id AND {_FOLLOW}.shopper_id = v.shopper_id
        RETURNING {_FOLLOW}.account_id, {_FOLLOW}.shopper_id
    )
    SELECT
        (SELECT COUNT(*) FROM stored),
        (SELECT json_agg(json_build_array(account_id, shopper_id, kind, quantity, sku, occurred_at))::text
         FROM stored WHERE sku <> ''),
        (SELECT json_agg(json_build_array(v.account_id, v.shopper_id, v.at, v.points)
                         ORDER BY v.account_id, v.shopper_id)::text
         -- NOT IN: a hashed subplan (NOT EXISTS planned a nested loop over the CTE, n x n)
         FROM v WHERE (v.account_id, v.shopper_id) NOT IN (SELECT account_id, shopper_id FROM followed))
"""


def _as_datetime(value) -> datetime:
    """A RETURNING timestamp as an aware datetime: SQLite hands back the stored text."""
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def scores_add(*, events: Sequence[StoredEvent], policy: FanPolicy) -> None:
    """Fold events into the scores of their (account, shopper) pairs: two statements.

    Per pair, the batch is first folded in Python into one contribution valid at its
    latest event; SQL then decays the stored score to the later of the two times and
    adds the contribution decayed to the same time (members/engagement/scoring.py).
    """
    if not events:
        return
    by_pair: dict[tuple[int, int], list[tuple[datetime, float]]] = defaultdict(list)
    for event in events:
        points = policy.weight(event.kind) * event.quantity
        by_pair[(event.account_id, event.shopper_id)].append((event.occurred_at, points))
    contributions = []
    stamp = connection.ops.adapt_datetimefield_value
    for (account_id, shopper_id), points in sorted(by_pair.items()):
        folded = scoring.fold(scoring.ScoreState(0.0, None), points, half_life_days=policy.half_life_days)
        contributions.append((account_id, shopper_id, stamp(folded.at), folded.score))
    half_life = policy.half_life_days * scoring.DAY_SECONDS
    followed = _add_to_follows(contributions, half_life)
    rest = [c for c in contributions if (c[0], c[1]) not in followed]
    if rest:
        add_to_waiting_scores(rest, half_life)


CONTRIBUTION_TYPES = ("bigint", "bigint", "timestamptz", "float8")


def _add_to_follows(contributions: list[tuple], half_life_seconds: float) -> set[tuple[int, int]]:
    table = Follow._meta.db_table
    source, params = sql.rows_source(contributions, CONTRIBUTION_TYPES)
    new_at = sql.greatest(f"COALESCE({table}.score_at, v.at)", "v.at")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH v (account_id, shopper_id, at, points) AS ({source})
            UPDATE {table} SET
                score = {table}.score * {
                sql.decay(later=new_at, earlier=f"COALESCE({table}.score_at, v.at)", half_life_seconds="%s")
            }
                        + v.points * {sql.decay(later=new_at, earlier="v.at", half_life_seconds="%s")},
                score_at = {new_at}
            FROM v
            WHERE {table}.account_id = v.account_id AND {table}.shopper_id = v.shopper_id
            RETURNING {table}.account_id, {table}.shopper_id
            """,
            [*params, half_life_seconds, half_life_seconds],
        )
        return set(cursor.fetchall())


def add_to_waiting_scores(contributions: list[tuple], half_life_seconds: float) -> None:
    table = EngagementScore._meta.db_table
    source, params = sql.rows_source(contributions, CONTRIBUTION_TYPES)
    new_at = sql.greatest(f"{table}.score_at", "excluded.score_at")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (account_id, shopper_id, score_at, score) {source}
            ON CONFLICT (account_id, shopper_id) DO UPDATE SET
                score = {table}.score * {
                sql.decay(later=new_at, earlier=f"{table}.score_at", half_life_seconds="%s")
            }
                        + excluded.score * {
                sql.decay(later=new_at, earlier="excluded.score_at", half_life_seconds="%s")
            },
                score_at = {new_at}
            """,
            [*params, half_life_seconds, half_life_seconds],
        )
