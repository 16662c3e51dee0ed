"""Preferences: what a shopper's purchases and engagement say they like, and how it fades.

Pure rules, shared by the writes (``storefront.services.preferences``), the reads (the
``/me/preferences`` list, the feed's ranking, the rollouts' audiences) and the tests.

- Every product a shopper buys or engages with adds a weight to its category and to
  each of its tags (one :class:`~storefront.models.Preference` row per shopper, kind
  and slug).
- The weights: a purchase adds :data:`PURCHASE_WEIGHT` per order line (not per unit:
  ten of a thing bought at once is one decision); an engagement event that names a sku
  adds ``ENGAGEMENT_WEIGHTS[kind] * quantity``. An engagement event of kind
  ``purchase`` adds nothing: the order reaches the purchase pipeline too, and counts
  there.
- Decay: a weight halves every :data:`HALF_LIFE` (exponential decay, as fan scores do).
  A row stores its weight as of ``updated_at``; adding to it first decays both
  amounts to the later of the two times, so events may arrive out of order.
- Shown normalised: the top affinities decayed to now, divided by their sum.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

HALF_LIFE = timedelta(days=30)
PURCHASE_WEIGHT = 3.0
ENGAGEMENT_WEIGHTS = {
    "view": 0.1,
    "like": 0.5,
    "comment": 0.7,
    "share": 1.0,
    "live_watch": 0.3,
    "purchase": 0.0,
}
# How many affinities ``/me/preferences`` shows (and the feed ranks by, see feed.py).
SHOWN = 20


@dataclass(frozen=True)
class Affinity:
    kind: str
    slug: str
    weight: float


def decayed(weight: float, *, since: datetime, now: datetime) -> float:
    """``weight`` recorded at ``since``, as it stands at ``now`` (never grows backwards)."""
    elapsed = max((now - since).total_seconds(), 0.0)
    return weight * 0.5 ** (elapsed / HALF_LIFE.total_seconds())


def product_slugs(*, category: str | None, tags: Iterable[str]) -> list[tuple[str, str]]:
    """The ``(kind, slug)`` keys a product carries: its category and its tags."""
    keys = [("category", category)] if category else []
    keys += [("tag", tag) for tag in dict.fromkeys(tags) if tag]
    return keys


def top_normalised(
    rows: Iterable[tuple[str, str, float, datetime]], *, now: datetime, limit: int
) -> list[Affinity]:
    """The ``limit`` strongest of ``(kind, slug, weight, updated_at)`` at ``now``, summing to 1.

    Ties go by kind and slug, so the answer is one. Nothing left (no rows, or all decayed
    to zero): an empty list.
    """
    current = [(kind, slug, decayed(weight, since=at, now=now)) for kind, slug, weight, at in rows]
    current = [row for row in current if row[2] > 0]
    current.sort(key=lambda row: (-row[2], row[0], row[1]))
    top = current[:limit]
    total = sum(weight for _, _, weight in top)
    return [Affinity(kind, slug, weight / total) for kind, slug, weight in top]
