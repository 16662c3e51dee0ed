"""The home-page feed's ranking and its cursor (the query is ``selectors.feed_page``).

The feed holds the products published in the last ``settings.FEED_WINDOW_DAYS`` days by
the merchants whose accounts the shopper follows or whose membership they hold.

Ranking, a blend of recency and preference match that does not depend on the clock::

    rank = floor(published_at + PREFERENCE_BOOST * match), in seconds since 1970

``match`` (0 to 1) is the sum of the normalised weights of the shopper's
:data:`PREFERENCES` strongest affinities (``affinity.top_normalised``) that the product
carries, its category and its tags. A product that carries all of them ranks as though
it had been published :data:`PREFERENCE_BOOST` later; one that carries none ranks by its
publication time alone. Ties go to the higher id.

Paging is keyset over ``(rank, id)``, descending. The first page fixes the window
(``since``, ``as_of``: now) and the preferences it ranks by, and the cursor carries them
(signed, so a tampered cursor is refused). Later pages read the same snapshot: a product
published after the first page, or a purchase that moves a preference, cannot push an
item from one page onto the next, so nothing repeats and nothing is skipped. New
products appear on the next first page.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.core import signing

from storefront import errors
from storefront.affinity import Affinity

PREFERENCE_BOOST = timedelta(hours=48)
PREFERENCES = 10
PAGE_SIZE = 20
_SALT = "storefront.feed.cursor"


@dataclass(frozen=True)
class FeedView:
    """What one feed read ranks by: the window, the preferences and where the page starts."""

    since: datetime
    as_of: datetime
    preferences: tuple[Affinity, ...]
    after: tuple[int, int] | None = None  # (rank, id) of the last item of the previous page


@dataclass(slots=True)
class FeedItem:
    """One product of a feed page, as the page query reads it (no model instances: the
    page is read often and only shown, docs/performance.md, "Feed")."""

    id: int
    sku: str
    title: str
    price: Decimal
    tags: list[str]
    published_at: datetime
    category_id: int | None
    category_slug: str | None
    merchant_id: int
    merchant_slug: str
    merchant_name: str
    rank: int
    reason: str  # "member": the shopper holds the merchant's membership; else "followed"
    coupon: object = None  # set by the top layer (``loyalty.selectors.feed_details``)

    @property
    def pk(self) -> int:
        return self.id


def first_view(*, now: datetime, window_days: int, preferences: list[Affinity]) -> FeedView:
    now = now.replace(microsecond=0)
    return FeedView(
        since=now - timedelta(days=window_days), as_of=now, preferences=tuple(preferences[:PREFERENCES])
    )


def cursor_encode(view: FeedView, *, rank: int, item_id: int) -> str:
    payload = {
        "v": 1,
        "s": int(view.since.timestamp()),
        "a": int(view.as_of.timestamp()),
        "p": [[p.kind, p.slug, p.weight] for p in view.preferences],
        "r": rank,
        "i": item_id,
    }
    return signing.dumps(payload, salt=_SALT, compress=True)


def cursor_decode(cursor: str) -> FeedView:
    """The view a cursor continues; :class:`errors.InvalidCursor` if it is not one we made."""
    try:
        payload = signing.loads(cursor, salt=_SALT)
        if payload["v"] != 1:
            raise ValueError("unknown cursor version")
        return FeedView(
            since=datetime.fromtimestamp(int(payload["s"]), tz=UTC),
            as_of=datetime.fromtimestamp(int(payload["a"]), tz=UTC),
            preferences=tuple(Affinity(str(k), str(s), float(w)) for k, s, w in payload["p"]),
            after=(int(payload["r"]), int(payload["i"])),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError, OverflowError, OSError):
        raise errors.InvalidCursor(attr="cursor") from None


def rank_of(*, published_at: datetime, carried: set[tuple[str, str]], preferences) -> int:
    """The rank the query computes, in Python: for tests and for reading the rule."""
    match = sum(p.weight for p in preferences if (p.kind, p.slug) in carried)
    return math.floor(published_at.timestamp() + PREFERENCE_BOOST.total_seconds() * match)
