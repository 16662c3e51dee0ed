"""The dashboard's JSON views: one per chart, each a handful of queries on the daily
tables and snapshots (``loyalty.dashboard.selectors``), for the merchant the request
may see.

Whose numbers: a merchant's staff see their own merchant only (naming another in
``?merchant=`` is a 404, as is any merchant for a staff user linked to none); a
superuser picks one with ``?merchant=SLUG``.
"""

from dataclasses import dataclass
from datetime import UTC

from django.http import Http404, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from loyalty.dashboard import selectors
from members.admin_scoping import staff_merchant
from members.models import Merchant


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    # Shown instead of the chart when it has nothing to draw: what to do about it.
    empty_hint: str
    read: object  # (merchant, today) -> dict
    is_empty: object  # dict -> bool


ENGAGEMENT_HINT = (
    "No engagement yet: send events to POST /api/v1/merchant/engagement; fans are counted "
    "each night (or run `manage.py snapshot_fan_stats`)."
)
METRICS_HINT = (
    "No daily metrics yet: they are computed each night after midnight UTC; run "
    "`manage.py daily_metrics backfill` to compute the past days now."
)

CHARTS = {
    chart.name: chart
    for chart in [
        Chart(
            "iron-fan-ratio",
            "Iron-fan ratio per account, last 90 days",
            ENGAGEMENT_HINT,
            lambda m, today: selectors.chart_iron_fan_ratio(merchant=m, today=today),
            lambda data: not data["labels"],
        ),
        Chart(
            "koe-leaderboard",
            "KOE leaderboard",
            "No KOE account has fans yet: add KOE accounts (POST /api/v1/merchant/accounts with "
            "kind koe) and send their engagement to POST /api/v1/merchant/engagement.",
            lambda m, today: selectors.chart_koe_leaderboard(merchant=m, today=today),
            lambda data: not data["rows"],
        ),
        Chart(
            "members-weekly",
            "Members and joins per week",
            "No members yet: shoppers join through POST /api/v1/me/memberships. " + METRICS_HINT,
            lambda m, today: selectors.chart_members_weekly(merchant=m, today=today),
            lambda data: not any(data["members"]) and not any(data["joins"]),
        ),
        Chart(
            "tiers",
            "Members per tier",
            "No members yet, or no tiers: add tiers (POST /api/v1/merchant/tiers). " + METRICS_HINT,
            lambda m, today: selectors.chart_tiers(merchant=m, today=today),
            lambda data: not any(data["members"]),
        ),
        Chart(
            "repurchase",
            "Repurchase rate (buyers of the last 90 days with 2+ orders)",
            "No orders yet: record them with POST /api/v1/merchant/orders. " + METRICS_HINT,
            lambda m, today: selectors.chart_repurchase(merchant=m, today=today),
            lambda data: not any(data["buyers"]),
        ),
        Chart(
            "coupon-funnel",
            "Coupon funnel, last 90 days",
            "No coupons issued in 90 days: create a coupon template and a campaign, then run it "
            "from its campaign page. " + METRICS_HINT,
            lambda m, today: selectors.chart_coupon_funnel(merchant=m, today=today),
            lambda data: not data["templates"],
        ),
        Chart(
            "points",
            "Points outstanding and expiring within 30 days",
            "No points yet: members earn them with their orders (POST /api/v1/merchant/orders). "
            + METRICS_HINT,
            lambda m, today: selectors.chart_points(merchant=m, today=today),
            lambda data: not any(data["outstanding"]) and not any(data["earned"]),
        ),
        Chart(
            "rollouts",
            "Rollouts in progress",
            "No rollout in progress: publishing a product (PATCH /api/v1/merchant/products/{sku} "
            "with published true) pushes it to the iron fans first.",
            lambda m, today: selectors.chart_rollouts(merchant=m),
            lambda data: not data["rows"],
        ),
    ]
}


def dashboard_merchant(request) -> Merchant | None:
    """The merchant whose dashboard the request asks for and may see; 404 for any other.

    Staff: their own merchant (``?merchant=`` may only name it). Superusers: the one named
    by ``?merchant=SLUG``, or none yet (the index offers a picker).
    """
    slug = request.GET.get("merchant") or None
    if request.user.is_superuser:
        if slug is None:
            return None
        merchant = Merchant.objects.filter(slug=slug).first()
        if merchant is None:
            raise Http404("No such merchant.")
        return merchant
    merchant = staff_merchant(request)
    if merchant is None or (slug is not None and slug != merchant.slug):
        raise Http404("No such merchant.")
    return merchant


@require_GET
def chart_view(request, chart: str):
    spec = CHARTS.get(chart)
    if spec is None:
        raise Http404("No such chart.")
    merchant = dashboard_merchant(request)
    if merchant is None:
        raise Http404("Pick a merchant: ?merchant=SLUG.")
    data = spec.read(merchant, timezone.now().astimezone(UTC).date())
    empty = spec.is_empty(data)
    return JsonResponse(
        {
            "chart": spec.name,
            "title": spec.title,
            "merchant": merchant.slug,
            "empty": empty,
            "empty_hint": spec.empty_hint if empty else "",
            "data": data,
        }
    )
