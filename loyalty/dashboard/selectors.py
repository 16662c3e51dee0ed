"""What the metrics API and the dashboard's charts read: the daily tables, the
per-account fan snapshots and the rollouts' own counters. Never raw events or orders.

Each function is a constant number of queries whatever the number of days or rows.
"""

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Max, QuerySet, Sum

from coupons.models import Campaign, CouponTemplate
from loyalty.dashboard.models import MerchantDailyCoupons, MerchantDailyMetrics, MerchantDailyTier
from members.engagement.models import AccountDailyStat, iron_fan_ratio
from members.models import Account, Merchant, Tier
from storefront.models import PushRollout

# Lines drawn on the iron-fan chart: the brand account and the biggest KOE accounts.
RATIO_CHART_ACCOUNTS = 10
LEADERBOARD_SIZE = 20
ROLLOUTS_SHOWN = 20


def ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def metrics_daily(*, merchant: Merchant, days: int, today: date) -> QuerySet[MerchantDailyMetrics]:
    """The merchant's daily rows of the last ``days`` days up to ``today``, oldest first."""
    return MerchantDailyMetrics.objects.filter(
        merchant=merchant, date__gt=today - timedelta(days=days), date__lte=today
    ).order_by("date")


def metrics_breakdowns(*, merchant: Merchant, dates: list[date]) -> tuple[dict, dict]:
    """For those days: ``{date: [{tier, members}]}`` and ``{date: [coupon rows]}`` (two queries)."""
    tiers: dict[date, list] = defaultdict(list)
    coupons: dict[date, list] = defaultdict(list)
    if not dates:
        return tiers, coupons
    for row in (
        MerchantDailyTier.objects.filter(merchant=merchant, date__in=dates)
        .order_by("date", "tier__rank")
        .values("date", "tier__name", "members")
    ):
        tiers[row["date"]].append({"tier": row["tier__name"], "members": row["members"]})
    for row in (
        MerchantDailyCoupons.objects.filter(merchant=merchant, date__in=dates)
        .order_by("date", "template_id", "source", "campaign_id")
        .values(
            "date", "template_id", "template__name", "source", "campaign_id", "issued", "redeemed", "expired"
        )
    ):
        coupons[row["date"]].append(
            {
                "template": row["template_id"],
                "template_name": row["template__name"],
                "source": row["source"],
                "campaign": row["campaign_id"],
                "issued": row["issued"],
                "redeemed": row["redeemed"],
                "expired": row["expired"],
            }
        )
    return tiers, coupons


# --- The dashboard's charts: one function per chart, each a plain dict for its JSON view ---


def _window(today: date, days: int) -> tuple[date, date]:
    return today - timedelta(days=days - 1), today


def chart_iron_fan_ratio(*, merchant: Merchant, today: date, days: int = 90) -> dict:
    """Daily iron-fan ratio per account (brand first, then the KOE accounts with the most fans)
    and of all the merchant's accounts together (from the daily rows). Four queries."""
    first, last = _window(today, days)
    latest = (
        AccountDailyStat.objects.filter(account__merchant=merchant, date__gte=first, date__lte=last)
        .values("account_id")
        .annotate(fans=Max("fans"))
    )
    biggest = {row["account_id"]: row["fans"] for row in latest}
    accounts = sorted(
        Account.objects.filter(merchant=merchant, pk__in=list(biggest)).only("pk", "handle", "kind"),
        key=lambda a: (a.kind != Account.Kind.BRAND, -biggest[a.pk], a.handle),
    )[:RATIO_CHART_ACCOUNTS]
    by_account: dict[int, dict[date, float]] = defaultdict(dict)
    for stat in AccountDailyStat.objects.filter(
        account_id__in=[a.pk for a in accounts], date__gte=first, date__lte=last
    ).values("account_id", "date", "fans", "iron_fans"):
        by_account[stat["account_id"]][stat["date"]] = iron_fan_ratio(
            fans=stat["fans"], iron_fans=stat["iron_fans"]
        )
    overall = {
        row["date"]: ratio(row["iron_fans"], row["fans"])
        for row in _daily(merchant, today, days, "fans", "iron_fans")
        if row["fans"]
    }
    dates = sorted({d for series in by_account.values() for d in series})
    series = [
        {
            "label": f"@{a.handle} ({a.kind})",
            "kind": a.kind,
            "data": [by_account[a.pk].get(d) for d in dates],
        }
        for a in accounts
    ]
    if overall:
        series.append({"label": "all accounts", "kind": "all", "data": [overall.get(d) for d in dates]})
    return {"labels": [d.isoformat() for d in dates], "series": series}


def chart_koe_leaderboard(*, merchant: Merchant, today: date) -> dict:
    """KOE accounts by iron fans at their latest snapshot, with the ratio's change over 30 days."""
    stats = AccountDailyStat.objects.filter(account__merchant=merchant, account__kind=Account.Kind.KOE)
    latest = stats.filter(date__lte=today).aggregate(d=Max("date"))["d"]
    if latest is None:
        return {"date": None, "rows": []}
    then = latest - timedelta(days=30)
    rows: dict[int, dict] = {}
    for stat in (
        stats.filter(date__in=[latest, then])
        .values("account_id", "account__handle", "account__display_name", "date", "fans", "iron_fans")
        .order_by("date")
    ):
        row = rows.setdefault(
            stat["account_id"],
            {
                "handle": stat["account__handle"],
                "display_name": stat["account__display_name"],
                "fans": 0,
                "iron_fans": 0,
                "ratio": 0.0,
                "ratio_30d_ago": None,
            },
        )
        value = iron_fan_ratio(fans=stat["fans"], iron_fans=stat["iron_fans"])
        if stat["date"] == latest:
            row.update(fans=stat["fans"], iron_fans=stat["iron_fans"], ratio=value)
        else:
            row["ratio_30d_ago"] = value
    board = sorted(rows.values(), key=lambda r: (-r["iron_fans"], -r["fans"], r["handle"]))[:LEADERBOARD_SIZE]
    for row in board:
        before = row["ratio_30d_ago"]
        row["change_30d"] = None if before is None else round(row["ratio"] - before, 4)
    return {"date": latest.isoformat(), "rows": board}


def _daily(merchant: Merchant, today: date, days: int, *fields: str) -> list[dict]:
    first, last = _window(today, days)
    return list(
        MerchantDailyMetrics.objects.filter(merchant=merchant, date__gte=first, date__lte=last)
        .order_by("date")
        .values("date", *fields)
    )


def chart_members_weekly(*, merchant: Merchant, today: date, weeks: int = 26) -> dict:
    """Members at each week's end and joins during it (ISO weeks, from the daily rows)."""
    rows = _daily(merchant, today, weeks * 7, "members", "joins", "leaves")
    weeks_seen: dict[date, dict] = {}
    for row in rows:
        monday = row["date"] - timedelta(days=row["date"].weekday())
        week = weeks_seen.setdefault(monday, {"joins": 0, "leaves": 0, "members": 0})
        week["joins"] += row["joins"]
        week["leaves"] += row["leaves"]
        week["members"] = row["members"]  # the last day of the week seen
    mondays = sorted(weeks_seen)
    return {
        "labels": [m.isoformat() for m in mondays],
        "members": [weeks_seen[m]["members"] for m in mondays],
        "joins": [weeks_seen[m]["joins"] for m in mondays],
        "leaves": [weeks_seen[m]["leaves"] for m in mondays],
    }


def chart_tiers(*, merchant: Merchant, today: date) -> dict:
    """Active members per tier on the latest computed day."""
    tiers = MerchantDailyTier.objects.filter(merchant=merchant, date__lte=today)
    latest = MerchantDailyMetrics.objects.filter(merchant=merchant, date__lte=today).aggregate(d=Max("date"))[
        "d"
    ]
    if latest is None:
        return {"date": None, "labels": [], "members": []}
    counts = {
        row["tier_id"]: row["members"]
        for row in tiers.filter(date=latest).values("tier_id").annotate(members=Sum("members"))
    }
    names = list(Tier.objects.filter(merchant=merchant).order_by("rank").values_list("pk", "name"))
    labels = [name for _, name in names]
    members = [counts.get(pk, 0) for pk, _ in names]
    if counts.get(None):
        labels.append("(no tier)")
        members.append(counts[None])
    return {"date": latest.isoformat(), "labels": labels, "members": members}


def chart_repurchase(*, merchant: Merchant, today: date, days: int = 90) -> dict:
    """The daily repurchase rate (buyers of the 90 days before with 2+ orders) and its 30-day trend."""
    rows = _daily(merchant, today, days, "buyers_90d", "repeat_buyers_90d")
    rates = [ratio(r["repeat_buyers_90d"], r["buyers_90d"]) for r in rows]
    trend = round(rates[-1] - rates[-31], 4) if len(rates) > 30 else None
    return {
        "labels": [r["date"].isoformat() for r in rows],
        "rate": rates,
        "buyers": [r["buyers_90d"] for r in rows],
        "latest": rates[-1] if rates else None,
        "change_30d": trend,
    }


def chart_coupon_funnel(*, merchant: Merchant, today: date, days: int = 90) -> dict:
    """Issued, redeemed and expired over the window, per template and per campaign."""
    first, last = _window(today, days)
    rows = MerchantDailyCoupons.objects.filter(merchant=merchant, date__gte=first, date__lte=last)
    totals = {"issued": Sum("issued"), "redeemed": Sum("redeemed"), "expired": Sum("expired")}

    def funnel(key: str, names: dict) -> list[dict]:
        out = []
        for row in rows.filter(**{f"{key}__isnull": False}).values(key).annotate(**totals).order_by(key):
            out.append(
                {
                    "name": names.get(row[key], f"#{row[key]}"),
                    "issued": row["issued"],
                    "redeemed": row["redeemed"],
                    "expired": row["expired"],
                    "rate": ratio(row["redeemed"], row["issued"]),
                }
            )
        return out

    template_names = dict(CouponTemplate.objects.filter(merchant=merchant).values_list("pk", "name"))
    campaign_names = dict(Campaign.objects.filter(merchant=merchant).values_list("pk", "name"))
    return {
        "templates": funnel("template_id", template_names),
        "campaigns": funnel("campaign_id", campaign_names),
    }


def chart_points(*, merchant: Merchant, today: date, days: int = 90) -> dict:
    rows = _daily(
        merchant, today, days, "points_outstanding", "points_expiring_30d", "points_earned", "points_spent"
    )
    return {
        "labels": [r["date"].isoformat() for r in rows],
        "outstanding": [r["points_outstanding"] for r in rows],
        "expiring_30d": [r["points_expiring_30d"] for r in rows],
        "earned": [r["points_earned"] for r in rows],
        "spent": [r["points_spent"] for r in rows],
    }


def chart_rollouts(*, merchant: Merchant) -> dict:
    """Rollouts still pushing or held, newest first, with their stage and open rate."""
    running = [
        PushRollout.Stage.IRON_FANS,
        PushRollout.Stage.FOLLOWERS,
        PushRollout.Stage.PUBLIC,
        PushRollout.Stage.HELD,
    ]
    rows = (
        PushRollout.objects.filter(merchant=merchant, stage__in=running)
        .order_by("-stage_started_at", "-id")
        .values(
            "id",
            "product__sku",
            "product__title",
            "stage",
            "stage_started_at",
            "sent",
            "opened",
            "held_reason",
        )[:ROLLOUTS_SHOWN]
    )
    return {
        "rows": [
            {
                "id": r["id"],
                "sku": r["product__sku"],
                "title": r["product__title"],
                "stage": r["stage"],
                "stage_started_at": r["stage_started_at"].isoformat(),
                "sent": r["sent"],
                "opened": r["opened"],
                "open_rate": ratio(r["opened"], r["sent"]),
                "held_reason": r["held_reason"],
            }
            for r in rows
        ]
    }
