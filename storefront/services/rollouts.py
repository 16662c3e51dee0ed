"""Fans first: a published product is pushed to iron fans, then followers, then the public pool.

The stages and who each reaches (``stage_audience``):

1. ``iron_fans``: the merchant's iron fans (``Follow.iron_fan`` on any of its accounts)
   whose preferences match the product;
2. ``followers``: every follower of the merchant's accounts who matches;
3. ``public``: shoppers who follow none of its accounts and whose preferences match.

A shopper *matches* when one of their preferences names the product's category or one
of its tags. In the first two stages a fan with no recorded preference at all matches
too: nothing says they would not want it, and they chose to follow the merchant (so
when none of the iron fans has a preference, stage 1 reaches all of them). A product
with neither category nor tags matches every fan, and nobody in the public pool.

After ``RolloutPolicy.stage_hours`` the beat job (``rollouts_advance``) judges the stage
by its open rate, opened over delivered: at or above ``open_rate_to_advance`` the
rollout moves on; below, it is ``held`` with the reason. A stage that reached nobody has
nothing to judge and moves on; one whose messages are all still deferred waits. Staff
advance or hold by hand (``rollout_advance_by_hand``, ``rollout_hold_by_hand``).

Fatigue: a shopper receives at most ``max_pushes_per_day`` pushes per calendar day in
``settings.TIME_ZONE``, counting every merchant's. A message over the cap is written
with ``delivered_at`` null (deferred) and delivered on a later day by
``inbox_deliver_deferred``, oldest first: never lost, and never the same product twice
(unique shopper and product). Each message is judged by its own merchant's cap.

Every stage writes its messages through ``core.jobs.chunks_run``: per chunk of shoppers
an ``INSERT ... SELECT`` of the audience, then the delivery of the chunk's messages
within the cap, under the chunk's shopper locks so that two rollouts delivering to one
shopper at once cannot both take the last push of the day. A stage run twice inserts
nothing the second time.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from core.jobs import chunks_run
from core.services import model_update
from members.locks import shoppers_lock
from members.models import Follow, Merchant, Shopper
from storefront import errors
from storefront.models import InboxMessage, Preference, Product, PushRollout, RolloutPolicy
from storefront.selectors import rollout_policy_of

STAGE_BATCH = 10_000
DEFERRED_BATCH = 10_000
Stage = PushRollout.Stage
RUNNING = (Stage.IRON_FANS, Stage.FOLLOWERS, Stage.PUBLIC)
NEXT_STAGE = {Stage.IRON_FANS: Stage.FOLLOWERS, Stage.FOLLOWERS: Stage.PUBLIC, Stage.PUBLIC: Stage.DONE}
DEFAULT_POLICY = RolloutPolicy()


@dataclass(frozen=True)
class Move:
    """What the beat job (or staff) did to one rollout."""

    rollout_id: int
    sku: str
    merchant: str
    from_stage: str
    to_stage: str
    reason: str = ""


def rollout_start(*, product_id: int, now: datetime | None = None) -> PushRollout | None:
    """Start the product's rollout and send stage 1; nothing if it is unpublished or has one.

    Called by the task that publishing enqueues on commit. A product unpublished again
    before the task ran is not pushed.
    """
    now = now or timezone.now()
    product = Product.objects.filter(pk=product_id, published_at__isnull=False).first()
    if product is None:
        return None
    rollout, created = PushRollout.objects.get_or_create(
        product=product, defaults={"merchant_id": product.merchant_id, "stage_started_at": now}
    )
    # A start whose worker died mid-stage left the rollout without ``stage_sent_at``: the
    # redelivered task sends the rest of the stage (the audience skips who has it).
    if created or rollout.stage_sent_at is None:
        rollout_stage_send(rollout=rollout, now=now)
    return rollout


def rollout_stage_send(*, rollout: PushRollout, now: datetime | None = None) -> int:
    """Write the current stage's messages, chunk by chunk, and deliver them within the cap.

    Returns how many were delivered now (the rest are deferred). Safe to run again: the
    audience leaves out whoever already has the product.
    """
    now = now or timezone.now()
    if rollout.stage not in RUNNING:
        return 0
    product = rollout.product

    def work(chunk) -> int:
        members = stage_audience(product=product, stage=rollout.stage, shopper_range=(chunk.lo, chunk.hi))
        return _send_chunk(audience=members, shopper_range=(chunk.lo, chunk.hi), rollout=rollout, now=now)

    # The chunks are ranges of shopper ids, walked on the primary key, and each chunk's
    # audience is asked for within its range only. Chunking on the audience itself made
    # every chunk's key query evaluate the audience from there to the end (PostgreSQL
    # hashes all the merchant's follows, then sorts): quadratic, 25 s a chunk at 1M.
    walk = Shopper.objects.all()
    delivered = sum(chunks_run(walk, size=STAGE_BATCH, work=work).done)
    PushRollout.objects.filter(pk=rollout.pk, stage=rollout.stage).update(stage_sent_at=now)
    return delivered


def stage_audience(
    *, product: Product, stage: str, shopper_range: tuple[int, int] | None = None
) -> QuerySet[Shopper]:
    """The shoppers a stage reaches who do not have the product yet (rules in the module doc).

    ``shopper_range`` (ids, both included) bounds the shoppers and every subquery, so
    that PostgreSQL reads only that range of follows, preferences and messages.
    """
    within: dict = {}
    if shopper_range is not None:
        within = {"shopper_id__gte": shopper_range[0], "shopper_id__lte": shopper_range[1]}
    fans = Follow.objects.filter(shopper=OuterRef("pk"), account__merchant_id=product.merchant_id, **within)
    keys = Q()
    if product.category_id:
        keys |= Q(kind=Preference.Kind.CATEGORY, slug=product.category.slug)
    if product.tags:
        keys |= Q(kind=Preference.Kind.TAG, slug__in=list(product.tags))
    likes_it = Exists(Preference.objects.filter(keys, shopper=OuterRef("pk"), **within)) if keys else None
    has_none = ~Exists(Preference.objects.filter(shopper=OuterRef("pk"), **within))
    has_it = Exists(InboxMessage.objects.filter(shopper=OuterRef("pk"), product_id=product.pk, **within))
    shoppers = Shopper.objects.filter(~has_it)
    if shopper_range is not None:
        shoppers = shoppers.filter(pk__gte=shopper_range[0], pk__lte=shopper_range[1])
    if stage == Stage.PUBLIC:
        return shoppers.filter(~Exists(fans), likes_it) if likes_it is not None else shoppers.none()
    base = Exists(fans.filter(iron_fan=True)) if stage == Stage.IRON_FANS else Exists(fans)
    return shoppers.filter(base, likes_it | has_none) if likes_it is not None else shoppers.filter(base)


def _send_chunk(
    *, audience: QuerySet[Shopper], shopper_range: tuple[int, int], rollout: PushRollout, now: datetime
) -> int:
    """One chunk of a stage: lock its shoppers, deliver what they had waiting, then insert
    their messages delivered or deferred as the cap says. Returns how many went out now.

    The cap is decided in the ``INSERT`` itself, so a message is written once (not inserted
    undelivered and updated a moment later: that doubled the stage's writes). The queue
    order is the same as delivering everything in one pass: the shoppers' older waiting
    messages go first, and a new message goes out when the pushes the shopper got today
    plus those still waiting before it stay under its merchant's cap.
    """
    lo, hi = shopper_range
    locked = shoppers_lock().filter(pk__gte=lo, pk__lte=hi, pk__in=audience.values("pk"))
    shoppers = list(locked.values_list("pk", flat=True))
    if not shoppers:
        return 0
    delivered = _deliver(shoppers=shoppers, now=now)
    start, end = day_bounds(now)
    adapt = connection.ops.adapt_datetimefield_value
    source, ids = _id_rows(shoppers)
    params = {
        "ids": ids,
        "lo": shoppers[0],
        "hi": shoppers[-1],
        "product": rollout.product_id,
        "rollout": rollout.pk,
        "stage": rollout.stage,
        "merchant": rollout.merchant_id,
        "now": adapt(now),
        "day_start": adapt(start),
        "day_end": adapt(end),
        "default_cap": DEFAULT_POLICY.max_pushes_per_day,
    }
    insert = INSERT_SQL.format(source=source)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"WITH sent AS ({insert}) SELECT COUNT(delivered_at) FROM sent", params)
            (fresh,) = cursor.fetchone()
        else:  # SQLite has no INSERT inside WITH
            cursor.execute(insert, params)
            fresh = sum(1 for (at,) in cursor.fetchall() if at is not None)
    if fresh:
        PushRollout.objects.filter(pk=rollout.pk).update(sent=F("sent") + fresh)
    return delivered + fresh


def _id_rows(ids: list[int]) -> tuple[str, str]:
    """A row source of shopper ids (column ``id``) from one text parameter ``%(ids)s``.

    One string instead of a parameter a shopper: Django binds parameters on the client,
    and quoting 10,000 of them cost more CPU than the database spent on the chunk.
    """
    if connection.vendor == "postgresql":
        return "SELECT unnest(%(ids)s::bigint[]) AS id", "{" + ",".join(map(str, ids)) + "}"
    return "SELECT value AS id FROM json_each(%(ids)s)", "[" + ",".join(map(str, ids)) + "]"


_INBOX = InboxMessage._meta.db_table
_POLICY = RolloutPolicy._meta.db_table
# Per shopper of the chunk, today's pushes and the messages still waiting (all older than
# this one), each counted in one pass over the chunk's range of the shopper index (not a
# lookup per shopper), against the cap of this rollout's merchant.
INSERT_SQL = f"""
    INSERT INTO {_INBOX} (shopper_id, product_id, rollout_id, stage, created_at, delivered_at)
    SELECT a.id, %(product)s, %(rollout)s, %(stage)s, %(now)s,
           CASE WHEN COALESCE(today.pushes, 0) + COALESCE(queued.pushes, 0)
                     < COALESCE((SELECT max_pushes_per_day FROM {_POLICY} WHERE merchant_id = %(merchant)s),
                                %(default_cap)s)
                THEN %(now)s END
    FROM ({{source}}) AS a
    LEFT JOIN (
        SELECT shopper_id, COUNT(*) AS pushes FROM {_INBOX}
        WHERE shopper_id BETWEEN %(lo)s AND %(hi)s
          AND delivered_at >= %(day_start)s AND delivered_at < %(day_end)s
        GROUP BY shopper_id
    ) AS today ON today.shopper_id = a.id
    LEFT JOIN (
        SELECT shopper_id, COUNT(*) AS pushes FROM {_INBOX}
        WHERE shopper_id BETWEEN %(lo)s AND %(hi)s AND delivered_at IS NULL
        GROUP BY shopper_id
    ) AS queued ON queued.shopper_id = a.id
    WHERE true
    ON CONFLICT (shopper_id, product_id) DO NOTHING
    RETURNING delivered_at
"""


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The calendar day of ``now`` in ``settings.TIME_ZONE``, as aware start and end."""
    day = timezone.localtime(now).date()
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    return start, end


def _deliver(*, shoppers: list[int], now: datetime) -> int:
    """Deliver the deferred messages of these shoppers (locked by the caller), oldest first,
    within the cap: a message goes out when the pushes the shopper got today plus its place
    in their queue stay within its merchant's cap. Moves each rollout's ``sent``.
    """
    if not InboxMessage.objects.filter(
        delivered_at__isnull=True, shopper_id__gte=shoppers[0], shopper_id__lte=shoppers[-1]
    ).exists():
        return 0
    start, end = day_bounds(now)
    adapt = connection.ops.adapt_datetimefield_value
    source, ids = _id_rows(shoppers)
    with connection.cursor() as cursor:
        cursor.execute(
            DELIVER_SQL.format(source=source),
            {
                "ids": ids,
                "now": adapt(now),
                "day_start": adapt(start),
                "day_end": adapt(end),
                "default_cap": DEFAULT_POLICY.max_pushes_per_day,
            },
        )
        delivered = Counter(rollout_id for (rollout_id,) in cursor.fetchall())
    for rollout_id, count in sorted(delivered.items()):
        PushRollout.objects.filter(pk=rollout_id).update(sent=F("sent") + count)
    return sum(delivered.values())


DELIVER_SQL = f"""
    UPDATE {_INBOX} SET delivered_at = %(now)s
    WHERE id IN (
        SELECT queued.id FROM (
            SELECT m.id, m.shopper_id,
                   ROW_NUMBER() OVER (PARTITION BY m.shopper_id ORDER BY m.created_at, m.id) AS place,
                   COALESCE(policy.max_pushes_per_day, %(default_cap)s) AS cap
            FROM {_INBOX} m
            JOIN {PushRollout._meta.db_table} r ON r.id = m.rollout_id
            LEFT JOIN {_POLICY} policy ON policy.merchant_id = r.merchant_id
            WHERE m.delivered_at IS NULL AND m.shopper_id IN ({{source}})
        ) AS queued
        WHERE queued.place + (
            SELECT COUNT(*) FROM {_INBOX} today
            WHERE today.shopper_id = queued.shopper_id
              AND today.delivered_at >= %(day_start)s AND today.delivered_at < %(day_end)s
        ) <= queued.cap
    )
    RETURNING rollout_id
"""


def inbox_deliver_deferred(*, now: datetime | None = None) -> int:
    """Deliver what the cap deferred on earlier days, as today's cap allows; chunks of shoppers."""
    now = now or timezone.now()
    waiting = InboxMessage.objects.filter(delivered_at__isnull=True)

    def work(chunk) -> int:
        in_range = waiting.filter(shopper_id__gte=chunk.lo, shopper_id__lte=chunk.hi)
        locked = shoppers_lock().filter(pk__in=in_range.values("shopper_id"))
        shoppers = list(locked.values_list("pk", flat=True))
        return _deliver(shoppers=shoppers, now=now) if shoppers else 0

    return sum(chunks_run(waiting, size=DEFERRED_BATCH, work=work, key="shopper_id").done)


@dataclass(frozen=True)
class StageCount:
    delivered: int = 0
    opened: int = 0
    deferred: int = 0

    @property
    def open_rate(self) -> Decimal | None:
        return Decimal(self.opened) / Decimal(self.delivered) if self.delivered else None


def stage_counts(*, rollout_ids) -> dict[int, dict[str, StageCount]]:
    """``{rollout_id: {stage: StageCount}}`` for the messages of these rollouts; one query."""
    rows = (
        InboxMessage.objects.filter(rollout_id__in=list(rollout_ids))
        .values("rollout_id", "stage")
        .annotate(
            delivered=Count("id", filter=Q(delivered_at__isnull=False)),
            opened=Count("id", filter=Q(opened_at__isnull=False)),
            deferred=Count("id", filter=Q(delivered_at__isnull=True)),
        )
    )
    counts: dict[int, dict[str, StageCount]] = {}
    for row in rows:
        counts.setdefault(row["rollout_id"], {})[row["stage"]] = StageCount(
            row["delivered"], row["opened"], row["deferred"]
        )
    return counts


def rollouts_advance(*, now: datetime | None = None) -> list[Move]:
    """The beat job: deliver deferred messages, resume unfinished sends, judge finished stages."""
    now = now or timezone.now()
    inbox_deliver_deferred(now=now)
    for rollout in PushRollout.objects.filter(stage__in=RUNNING, stage_sent_at__isnull=True).select_related(
        "product__category"
    ):
        rollout_stage_send(rollout=rollout, now=now)
    moves = []
    running = PushRollout.objects.filter(stage__in=RUNNING, stage_sent_at__isnull=False).select_related(
        "product__category", "merchant__rollout_policy"
    )
    running = list(running)
    counts = stage_counts(rollout_ids=[r.pk for r in running])
    for rollout in running:
        policy = rollout_policy_of(merchant=rollout.merchant)
        if now < rollout.stage_started_at + timedelta(hours=policy.stage_hours):
            continue
        count = counts.get(rollout.pk, {}).get(rollout.stage, StageCount())
        delivered, opened, rate = count.delivered, count.opened, count.open_rate
        if rate is None:
            if count.deferred:
                continue  # all deferred: nobody has seen it yet
            move = _move(rollout, to=NEXT_STAGE[rollout.stage], now=now, reason="reached nobody")
        else:
            threshold = policy.open_rate_to_advance
            if rate >= threshold:
                move = _move(rollout, to=NEXT_STAGE[rollout.stage], now=now, reason=f"open rate {rate:.3f}")
            else:
                reason = (
                    f"open rate {rate:.3f} of {rollout.stage} below {threshold:.3f} "
                    f"after {policy.stage_hours} h ({opened} of {delivered} opened)"
                )
                move = _move(rollout, to=Stage.HELD, now=now, reason=reason)
        if move is not None:
            moves.append(move)
    return moves


def _move(rollout: PushRollout, *, to: str, now: datetime, reason: str = "") -> Move | None:
    """Move a rollout on from the stage it is in (a guarded ``UPDATE``: one mover wins),
    then send the new stage. ``None`` if someone else moved it first."""
    from_stage = rollout.stage
    held = to == Stage.HELD
    with transaction.atomic():
        moved = PushRollout.objects.filter(pk=rollout.pk, stage=from_stage).update(
            stage=to,
            stage_started_at=now,
            stage_sent_at=None if to in RUNNING else now,
            held_stage=from_stage if held else "",
            held_reason=reason if held else "",
        )
    if not moved:
        return None
    rollout.stage, rollout.stage_started_at = to, now
    if to in RUNNING:
        rollout_stage_send(rollout=rollout, now=now)
    return Move(rollout.pk, rollout.product.sku, rollout.merchant.slug, from_stage, to, reason)


def rollout_advance_by_hand(*, merchant: Merchant, rollout_id: int, now: datetime | None = None) -> Move:
    """Staff move a rollout to the next stage, whatever its rate; a held one resumes after
    the stage it was held in."""
    rollout = _merchant_rollout(merchant=merchant, rollout_id=rollout_id)
    current = rollout.held_stage if rollout.stage == Stage.HELD else rollout.stage
    if current not in NEXT_STAGE:
        raise errors.RolloutNotAdvanceable()
    move = _move(rollout, to=NEXT_STAGE[current], now=now or timezone.now(), reason="advanced by staff")
    if move is None:
        raise errors.RolloutNotAdvanceable("The rollout moved meanwhile; look again.")
    return move


def rollout_hold_by_hand(*, merchant: Merchant, rollout_id: int, now: datetime | None = None) -> Move:
    rollout = _merchant_rollout(merchant=merchant, rollout_id=rollout_id)
    if rollout.stage not in RUNNING:
        raise errors.RolloutNotAdvanceable("Only a running rollout can be held.")
    move = _move(rollout, to=Stage.HELD, now=now or timezone.now(), reason="held by staff")
    if move is None:
        raise errors.RolloutNotAdvanceable("The rollout moved meanwhile; look again.")
    return move


def _merchant_rollout(*, merchant: Merchant, rollout_id: int) -> PushRollout:
    rollout = (
        PushRollout.objects.filter(pk=rollout_id, merchant=merchant)
        .select_related("product__category", "merchant")
        .first()
    )
    if rollout is None:
        raise errors.RolloutNotFound()
    return rollout


ROLLOUT_SETTINGS = ("stage_hours", "open_rate_to_advance", "max_pushes_per_day")


def rollout_policy_update(*, merchant: Merchant, **changes) -> RolloutPolicy:
    """Change some of the merchant's rollout settings (the program API's ``rollout``).

    Only the columns given are written, so two edits of different settings both hold.
    """
    unknown = set(changes) - set(ROLLOUT_SETTINGS)
    if unknown:
        raise TypeError(f"not updatable: {sorted(unknown)}")
    with transaction.atomic():
        policy, _ = RolloutPolicy.objects.get_or_create(merchant=merchant)
        model_update(instance=policy, fields=ROLLOUT_SETTINGS, data=changes)
    return policy
