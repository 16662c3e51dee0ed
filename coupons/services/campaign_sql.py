"""The SQL of one campaign chunk: insert its coupons, then keep the limit and the stock.

A chunk inserts first, without the template's lock (``ChunkSource.insert``: the
shoppers of its range in the audience and under the per-shopper limit, as far as the
stock seen then allows), and only then takes the template's row to check what it
inserted against what other issuers committed meanwhile (``over_limit``), to claim
its stock in one guarded ``UPDATE`` and to trim what the stock cannot cover
(``trim``). The insert, the costly part, runs in parallel across chunks; the locked
part is a few small statements (docs/campaigns.md).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from coupons.models import CODE_ALPHABET, CODE_LENGTH, CampaignRun, Coupon, CouponTemplate
from coupons.services.issuing import coupon_validity

COUPON = Coupon._meta.db_table


@dataclass(frozen=True)
class Inserted:
    """What a chunk's insert did: its audience, of whom under the limit, the coupons' ids."""

    in_audience: int
    eligible: int
    ids: list[int]


@dataclass
class ChunkSource:
    """One chunk's audience as SQL (``sql``/``params``: the shoppers' ids), with the
    per-shopper limit beside each shopper."""

    sql: str
    params: list
    template: CouponTemplate
    run: CampaignRun
    now: datetime

    def _dt(self, value):
        return connection.ops.adapt_datetimefield_value(value)

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
        count_params = [self.template.pk, Coupon.State.ISSUED, self._dt(self.now)]
        if connection.vendor == "postgresql":
            return f"({self.sql}) a CROSS JOIN LATERAL ({count}) h", [*self.params, *count_params], "h.n", []
        return f"({self.sql}) a", list(self.params), f"({count})", count_params

    def count(self) -> int:
        """The chunk's audience (a chunk that issues nothing still counts its skips)."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({self.sql}) a", self.params)
            return int(cursor.fetchone()[0])

    def insert(self, *, room: int | None) -> Inserted:
        """Insert the coupons of the first ``room`` (None: all) shoppers under the limit, by
        id, but those this run already reached (unique ``(campaign_run, shopper)``).

        PostgreSQL: one statement, the audience read once (a materialised CTE counted and
        inserted from). SQLite: a count, then the insert.
        """
        source, source_params, n, n_params = self._held()
        insert, insert_params = self._insert_sql("SELECT id FROM a WHERE n < %s ORDER BY id LIMIT %s", room)
        audience = f"SELECT a.id, {n} AS n FROM {source}"
        audience_params = [*n_params, *source_params]
        limit = self.template.per_member_limit
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"""
                    WITH a AS MATERIALIZED ({audience}),
                         ins AS ({insert} RETURNING id)
                    SELECT (SELECT COUNT(*) FROM a), (SELECT COUNT(*) FROM a WHERE n < %s),
                           (SELECT COALESCE(array_agg(id), '{{}}') FROM ins)
                    """,
                    [*audience_params, *insert_params, limit],
                )
                total, eligible, ids = cursor.fetchone()
                return Inserted(int(total), int(eligible), list(ids))
            cursor.execute(
                f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN n < %s THEN 1 ELSE 0 END), 0) FROM ({audience}) a",
                [limit, *audience_params],
            )
            total, eligible = cursor.fetchone()
            cursor.execute(
                f"WITH a AS ({audience}) {insert} RETURNING id", [*audience_params, *insert_params]
            )
            return Inserted(int(total), int(eligible), [row[0] for row in cursor.fetchall()])

    def _insert_sql(self, shoppers: str, room: int | None) -> tuple[str, list]:
        valid_from, expires_at = coupon_validity(template=self.template, now=self.now)
        code, lateral = code_sql()
        sql = f"""
            INSERT INTO {COUPON}
                (template_id, merchant_id, shopper_id, code, state, source, order_id,
                 campaign_run_id, issued_at, valid_from, expires_at, redeemed_at)
            SELECT %s, %s, e.id, {code}, %s, %s, NULL, %s, %s, %s, %s, NULL
            FROM ({shoppers}) e
            {lateral}
            WHERE true
            ON CONFLICT (campaign_run_id, shopper_id) DO NOTHING
        """
        params = [
            self.template.pk,
            self.template.merchant_id,
            Coupon.State.ISSUED,
            Coupon.Source.CAMPAIGN,
            self.run.pk,
            self._dt(self.now),
            self._dt(valid_from),
            self._dt(expires_at),
            self.template.per_member_limit,
            -1 if room is None else room,  # LIMIT -1: none on SQLite; PostgreSQL reads ALL below
        ]
        if connection.vendor == "postgresql":
            sql = sql.replace("LIMIT %s", "LIMIT NULLIF(%s, -1)")
        return sql, params

    def over_limit(self, ids: list[int]) -> list[int]:
        """Of the coupons ``ids`` this chunk inserted, those whose shopper now holds more unused
        coupons of the template than its limit (another issuer committed one meanwhile):
        deleted, their ids returned. Called under the template's lock."""
        if not ids:
            return []
        return self._delete(
            f"""
            SELECT o.id FROM {COUPON} o
            WHERE o.id IN ({_ids(ids)})
              AND (SELECT COUNT(*) FROM {COUPON} c
                   WHERE c.template_id = %s AND c.shopper_id = o.shopper_id AND c.state = %s
                     AND c.expires_at > %s) > %s
            """,
            [self.template.pk, Coupon.State.ISSUED, self._dt(self.now), self.template.per_member_limit],
        )

    def trim(self, ids: list[int], *, keep: int) -> list[int]:
        """Delete all but the first ``keep`` of ``ids`` (by shopper id): the stock left does
        not cover them. Called under the template's lock."""
        if len(ids) <= keep:
            return []
        return self._delete(
            f"SELECT o.id FROM {COUPON} o WHERE o.id IN ({_ids(ids)}) ORDER BY o.shopper_id DESC LIMIT %s",
            [len(ids) - keep],
        )

    def _delete(self, select: str, params: list) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {COUPON} WHERE id IN ({select}) RETURNING id", params)
            return [row[0] for row in cursor.fetchall()]


def _ids(ids: list[int]) -> str:
    """Integer ids written into the statement (each ``int()``: no injection), so that a chunk
    of thousands passes no thousands of parameters (SQLite's limit is 32,766)."""
    return ", ".join(str(int(i)) for i in ids)


def code_sql() -> tuple[str, str]:
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
