"""Engagement events of the last 60 days on pairs of the follows (so the fan scores have history)."""

from datetime import UTC, datetime, timedelta

from benchmarks.dataset.rows import insert_chunked
from benchmarks.progress import timed
from benchmarks.scales import Scale
from members.engagement import partitions

# Event e: on the pair of follow mod(hash, F) + 1, a kind by hash (a fifth are minutes of
# live watching), some time in the last 60 days.
EVENT_WINDOW_DAYS = 60
ENGAGEMENT_EVENTS = """
INSERT INTO members_engagementevent (account_id, shopper_id, kind, quantity, sku, source_id, occurred_at)
SELECT f.account_id, f.shopper_id, x.kind,
       CASE WHEN x.kind = 'live_watch' THEN 1 + mod(pg_temp.bench_rand(x.e, 22), 90) ELSE 1 END,
       '', 'b' || x.e, now() - make_interval(secs => mod(pg_temp.bench_rand(x.e, 23), %(window)s))
FROM (SELECT e, (ARRAY['view', 'view', 'like', 'like', 'comment', 'share', 'live_watch', 'purchase',
                        'like', 'live_watch'])[1 + mod(pg_temp.bench_rand(e, 21), 10)] AS kind,
             1 + mod(pg_temp.bench_rand(e, 20), %(f)s) AS f
      FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) e) x
JOIN members_follow f ON f.id = x.f
"""


def engagement_events(cur, scale: Scale) -> None:
    """Events of the last 60 days, on pairs of the follows (so the scores have history).

    The monthly partitions of the window exist first, so no row waits in the default
    partition; the ids are the platform ids ``b<n>``, as a real feed would send them.
    """
    now = datetime.now(UTC).date()
    first = partitions.month_start(now - timedelta(days=EVENT_WINDOW_DAYS + 1))
    last = partitions.add_months(partitions.month_start(now), partitions.MONTHS_AHEAD)
    with timed("event partitions"):
        partitions.ensure_months(cur, first=first, last=last)
    insert_chunked(
        cur,
        "engagement events",
        scale.engagement_events,
        ENGAGEMENT_EVENTS,
        f=scale.follows,
        window=EVENT_WINDOW_DAYS * 86400,
        unit="events",
    )
