"""Row locks in one shape, and the order every transaction takes them in.

Each app's ``locks.py`` has one small function per lockable thing, in the style of
Saleor's ``lock_objects.py``: ``points_accounts_lock()``, ``memberships_lock()``, ...
Each returns a queryset that locks what it selects, in primary-key order, and only
the rows of the tables named in ``of`` (``"self"`` unless a join must be locked
too): a ``select_related`` join is read, not locked, unless ``of`` names it. The
caller filters it and evaluates it (``.first()``, ``.get()``, ``list(...)``); the
locks last until the transaction ends. ``select_for_update`` is written nowhere else;
a written-out statement that locks ends with :func:`locking_clause`, the same lock.

Lock order across the apps. A transaction that takes several of these locks takes
them top to bottom (skipping what it does not need); two transactions therefore
never wait on each other in a cycle:

1. ``storefront.locks.orders_lock``: the order being refunded (serialises its refunds).
2. ``members.locks.shoppers_lock``: a shopper claimed by a registration; then
   ``members.locks.shopper_claims_lock``, its claim codes (an attempt at a code takes
   them alone, in its own transaction; the registration deletes them after the shopper).
   Also the shoppers a chunk of pushes goes to (``storefront.services.rollouts``), all of
   them in one statement, before the chunk's messages are inserted (the cap is decided in
   the ``INSERT``) and before the rollouts' counters move.
3. ``members.locks.merchants_lock``: the merchant's member-number counter (joins); also
   taken alone by a webhook endpoint change to rewrite ``Merchant.webhook_events``.
4. ``coupons.locks.scheduled_coupons_lock``: a promised coupon claimed by the due job.
5. ``loyalty.locks.points_accounts_lock``: the points account, with its membership
   (``with_membership=True``, one statement) when coupons are issued in the same
   transaction; ``members.locks.memberships_lock`` alone where no points move (a manual
   tier change). Also the memberships whose iron-fan flag may change
   (``members.iron_fan_flags``): the hourly recompute and an unfollow lock them before they
   write the follows (10); an account's deletion locks those of all its followers before
   its follows go. The nightly tier review locks a chunk's due memberships by id in
   its one statement (``FOR UPDATE OF m`` in ``loyalty.services.tiers``), nothing else.
6. ``coupons.locks.coupons_lock_by_code``: the coupons an order names, by primary key.
7. the coupon template's row, taken by the guarded stock ``UPDATE`` of ``coupon_issue``
   before its per-shopper limit check, and by each campaign chunk after its insert, to
   recheck that limit and claim its stock: the lock every issuer of a template holds
   for its last limit check, so the limit holds for every holder, member or not.
8. ``coupons.locks.campaign_runs_lock``: a campaign run's counters, moved at the end
   of each chunk's transaction.
9. ``storefront.locks.products_lock``, ``loyalty.locks.programs_lock``,
   ``members.locks.fan_policies_lock``: edited alone.
10. ``members.locks.follows_lock``, then ``members.locks.waiting_scores_lock``: an
    unfollow moves the follow's score to the waiting scores, a new follow takes its
    shopper's waiting score, the hourly job folds those left beside a follow. An
    engagement batch writes follows and waiting scores with a guarded ``UPDATE`` and
    an upsert, in that order too.

The outbox relay (``core.outbox``) locks outbox rows with ``SKIP LOCKED`` in a
transaction of its own that takes no other lock; writers only insert outbox rows.

Rows written by ``INSERT ... ON CONFLICT`` or a guarded ``UPDATE`` (purchase stats,
coupon redemption) are locked by that statement, after all of the above. Last of all,
the accounts' fan counts (``members.fan_counts``), one account at a time in account-id
order; a recount locks them (``members.locks.account_fan_counts_lock``) before it reads
the follows, and takes no other lock.
"""

from django.db import connection
from django.db.models import Model, QuerySet


def locked(
    queryset: QuerySet | type[Model], *, of: tuple[str, ...] = ("self",), skip_locked: bool = False
) -> QuerySet:
    """``queryset`` (or a model's default manager) locking its rows in primary-key order.

    ``skip_locked`` passes over rows another transaction holds instead of waiting on
    them: for a worker claiming work that another worker may have taken.
    """
    if isinstance(queryset, type):
        queryset = queryset._default_manager.all()
    return queryset.order_by("pk").select_for_update(of=of, skip_locked=skip_locked)


def locking_clause(model: type[Model]) -> str:
    """The end of a written-out statement that locks its rows of ``model`` (the table by
    its name in the statement) as :func:`locked` does: in primary-key order, only that
    table's rows. SQLite locks the whole database on write and has no ``FOR UPDATE``."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    clause = f" ORDER BY {table}.{quote(model._meta.pk.column)} ASC"
    if connection.features.has_select_for_update:
        clause += f" FOR UPDATE OF {table}"
    return clause
