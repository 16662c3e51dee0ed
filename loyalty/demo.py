"""Demo data for ``make run``: two merchants with accounts, tiers, staff and fans.

Idempotent: every row is looked up before it is created, so running it again changes
nothing but the demo API keys (keys are stored hashed, so a fresh one is issued and
the previous demo keys are revoked).
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from coupons.models import Campaign, CampaignRun
from coupons.services.campaign_runs import campaign_run_cancel, campaign_run_request, campaign_run_start
from coupons.services.campaigns import campaign_create
from coupons.services.templates import coupon_template_create
from loyalty.dashboard import jobs as dashboard_jobs
from loyalty.models import PointsEntry, TierChange, TierReward
from loyalty.services.engagement import engagement_record
from loyalty.services.memberships import membership_enrol, merchant_onboard
from loyalty.services.program import program_update
from loyalty.services.purchases import OrderInput, OrderLineInput, purchase_record
from loyalty.services.tiers import tier_change_manual, tier_review
from members import services as members_services
from members.engagement.jobs import fan_stats_snapshot, iron_fans_recompute
from members.engagement.models import EngagementEvent
from members.engagement.services import EventInput
from members.models import Account, Follow, Membership, Merchant, MerchantAPIKey, MerchantStaff, Shopper, Tier
from members.webhooks.endpoints import webhook_endpoint_create, webhook_endpoint_disable
from members.webhooks.models import EventType, WebhookEndpoint
from storefront.models import Order, Product
from storefront.services import product_create
from storefront.services.rollouts import rollout_start

DEMO_PASSWORD = "fanbase-demo"
DEMO_KEY_NAME = "demo"

MERCHANTS = [
    ("acme-beauty", "Acme Beauty", ["acme-lin", "acme-jo"]),
    ("river-tea", "River Tea House", ["river-mei", "river-sam"]),
]
TIERS = [("Fan", 1, "0", "1.00"), ("Silver", 2, "500", "1.25"), ("Gold", 3, "2000", "1.50")]
SHOPPERS = ["shopper1", "shopper2", "shopper3", "shopper4", "shopper5", "shopper6"]
PRODUCTS = {
    "acme-beauty": [
        ("AB-LIP-01", "Velvet lipstick", "makeup", ["lipstick", "matte"], "89.00"),
        ("AB-LIP-02", "Gloss duo", "makeup", ["lipstick", "gloss"], "119.00"),
        ("AB-SKN-01", "Hydrating serum", "skincare", ["serum", "hydration"], "239.00"),
        ("AB-SKN-02", "Daily sunscreen SPF50", "skincare", ["sunscreen"], "129.00"),
    ],
    "river-tea": [
        ("RT-GRN-01", "Longjing green tea 100g", "tea", ["green-tea"], "68.00"),
        ("RT-OOL-01", "Tieguanyin oolong 100g", "tea", ["oolong"], "88.00"),
        ("RT-SET-01", "Travel tea set", "teaware", ["gift"], "199.00"),
    ],
}
JOIN_BONUS_POINTS = 100
# A buyer the shop knows only from an order: registering this id needs a claim code.
UNCLAIMED_BUYER = ("acme-beauty", "platform-user-77")


@dataclass
class DemoLogins:
    superuser: str = "admin"
    staff: dict[str, str] = field(default_factory=dict)  # merchant slug -> username
    shoppers: list[str] = field(default_factory=list)
    api_keys: dict[str, str] = field(default_factory=dict)  # merchant slug -> key
    unclaimed: tuple[str, str] = UNCLAIMED_BUYER  # (merchant slug, platform id)


@transaction.atomic
def seed_demo() -> DemoLogins:
    logins = DemoLogins()
    User = get_user_model()
    if not User.objects.filter(username=logins.superuser).exists():
        User.objects.create_superuser(logins.superuser, password=DEMO_PASSWORD)

    for slug, name, koe_handles in MERCHANTS:
        merchant = Merchant.objects.filter(slug=slug).first()
        if merchant is None:
            merchant, _ = merchant_onboard(slug=slug, name=name, key_name=DEMO_KEY_NAME)
            _seed_program(merchant)
        for sku, title, category, tags, price in PRODUCTS[slug]:
            if not Product.objects.filter(merchant=merchant, sku=sku).exists():
                product_create(
                    merchant=merchant,
                    sku=sku,
                    title=title,
                    category=category,
                    tags=tags,
                    price=Decimal(price),
                    published=True,
                )
        staff_username = f"{slug}-staff"
        staff = MerchantStaff.objects.filter(user__username=staff_username).first()
        if staff is None:
            staff = members_services.merchant_staff_create(
                merchant=merchant, username=staff_username, password=DEMO_PASSWORD
            )
        logins.staff[slug] = staff_username
        for handle in koe_handles:
            if not Account.objects.filter(handle=handle).exists():
                members_services.account_create(
                    merchant=merchant,
                    handle=handle,
                    kind=Account.Kind.KOE,
                    display_name=handle.split("-")[1].title(),
                    staff=staff,
                )
        for tier_name, rank, min_spend, multiplier in TIERS:
            if not Tier.objects.filter(merchant=merchant, name=tier_name).exists():
                members_services.tier_create(
                    merchant=merchant,
                    name=tier_name,
                    rank=rank,
                    min_spend_12m=Decimal(min_spend),
                    earn_multiplier=Decimal(multiplier),
                )
        _seed_campaigns(merchant)
        _seed_tier_reward(merchant)
        _seed_webhook_endpoint(merchant)
        MerchantAPIKey.objects.filter(merchant=merchant, name=DEMO_KEY_NAME, revoked=False).update(
            revoked=True
        )
        _, logins.api_keys[slug] = members_services.merchant_api_key_create(
            merchant=merchant, name=DEMO_KEY_NAME
        )

    merchants = list(Merchant.objects.filter(slug__in=[m[0] for m in MERCHANTS]).order_by("slug"))
    accounts = list(Account.objects.filter(merchant__in=merchants).order_by("handle"))
    for index, username in enumerate(SHOPPERS):
        shopper = Shopper.objects.filter(external_id=username).first()
        if shopper is None:
            shopper, _ = members_services.shopper_register(username=username, password=DEMO_PASSWORD)
        logins.shoppers.append(username)
        # Each shopper follows a few accounts and joins one or both memberships.
        for account in accounts[index % 3 :: 2]:
            members_services.follow_create(shopper=shopper, handle=account.handle)
        for merchant in merchants[: 1 + index % 2]:
            membership_enrol(shopper=shopper, merchant=merchant)
    _seed_orders(merchants)
    _seed_tier_history(merchants[0])
    _seed_unclaimed_buyer()
    _seed_engagement(merchants)
    _seed_rollouts(merchants)
    _seed_daily_metrics(merchants)
    _seed_cancelled_runs(merchants)
    return logins


# Per shopper: (days of the last 30 with engagement, events per such day). The first
# two engage every other day and become iron fans of what they follow; the rest
# engage too little. Two passers-by engage without following (their scores wait).
ENGAGEMENT_HABITS = [(15, 3), (12, 3), (6, 1), (4, 2), (2, 1), (1, 1)]
PASSERS_BY = ["viewer1", "viewer2"]
ENGAGEMENT_KINDS = ["like", "comment", "view", "share", "live_watch"]


def _seed_engagement(merchants: list[Merchant]) -> None:
    """A month of likes, comments and live watching through the engagement pipeline,
    then the hourly job and the daily snapshots, so iron fans and the ratio are real."""
    now = timezone.now()
    for merchant in merchants:
        # (The demo orders wrote purchase events of their own: those do not count here.)
        if EngagementEvent.objects.filter(account__merchant=merchant).exclude(kind="purchase").exists():
            continue  # seeded before: the same events again would add to the scores
        events = []
        follows = Follow.objects.filter(account__merchant=merchant).select_related("shopper", "account")
        for follow in follows.order_by("pk"):
            index = (
                SHOPPERS.index(follow.shopper.external_id) if follow.shopper.external_id in SHOPPERS else 5
            )
            days, per_day = ENGAGEMENT_HABITS[index]
            for day in range(days):
                for n in range(per_day):
                    kind = ENGAGEMENT_KINDS[(day + n) % len(ENGAGEMENT_KINDS)]
                    events.append(
                        EventInput(
                            shopper=follow.shopper.external_id,
                            account=follow.account.handle,
                            kind=kind,
                            quantity=20 if kind == "live_watch" else 1,
                            occurred_at=now - timedelta(days=2 * day, hours=n + 1),
                            source_id=f"demo-{follow.pk}-{day}-{n}",
                        )
                    )
        brand = merchant.accounts.get(kind=Account.Kind.BRAND)
        for viewer in PASSERS_BY:
            events += [
                EventInput(
                    shopper=viewer, account=brand.handle, kind="view", occurred_at=now - timedelta(days=d)
                )
                for d in range(3)
            ]
        engagement_record(merchant=merchant, events=events)
        iron_fans_recompute(merchant=merchant, now=now)
        _backdate_history(merchant, now=now)
        for days_ago in range(HISTORY_DAYS - 1, -1, -1):
            fan_stats_snapshot(day=(now - timedelta(days=days_ago)).date(), now=now, merchant=merchant)


# Days of history the demo's dashboard shows: fans and members arrived over them.
HISTORY_DAYS = 90


def _backdate_history(merchant: Merchant, *, now) -> None:
    """Spread the demo's follows, iron fans and memberships over the past ``HISTORY_DAYS``
    (they were all made just now), so that the dashboard's lines have a past to draw.
    Demo data only: the services stamp real rows with the time they happen."""
    for follow in Follow.objects.filter(account__merchant=merchant).order_by("pk"):
        since = now - timedelta(days=15 + (follow.pk * 13) % (HISTORY_DAYS - 20))
        iron_since = min(since + timedelta(days=10 + follow.pk % 20), now) if follow.iron_fan else None
        Follow.objects.filter(pk=follow.pk).update(created_at=since, iron_fan_since=iron_since)
    for membership in Membership.objects.filter(merchant=merchant).order_by("number"):
        joined = now - timedelta(days=HISTORY_DAYS - 5 - (membership.number * 11) % (HISTORY_DAYS - 10))
        Membership.objects.filter(pk=membership.pk).update(joined_at=joined)
        # The join bonus was paid on joining; each order's points when it was paid.
        bonus = PointsEntry.objects.filter(account__membership=membership, order__isnull=True)
        bonus.update(created_at=joined)
    for entry in PointsEntry.objects.filter(
        account__membership__merchant=merchant, order__isnull=False
    ).select_related("order"):
        PointsEntry.objects.filter(pk=entry.pk).update(created_at=entry.order.paid_at)


def _seed_daily_metrics(merchants: list[Merchant]) -> None:
    """The dashboard's daily rows for the demo's past days and today (today's is provisional:
    the nightly job rewrites it once the day has ended)."""
    today = timezone.now().date()
    first = today - timedelta(days=HISTORY_DAYS - 1)
    for merchant in merchants:
        missing = dashboard_jobs.days_missing(first=first, last=today, merchant=merchant)
        dashboard_jobs.metrics_compute(days=missing, merchant=merchant)


def _seed_rollouts(merchants: list[Merchant]) -> None:
    """Stage 1 of each demo product's fans-first push, now that the iron fans exist, so the
    inbox and the rollout admin have something to show before a worker runs. The task
    that publishing enqueued finds the rollout started and does nothing; so does a rerun.
    """
    for product_id in (
        Product.objects.filter(merchant__in=merchants).order_by("pk").values_list("pk", flat=True)
    ):
        rollout_start(product_id=product_id)


def _seed_orders(merchants: list[Merchant]) -> None:
    """A purchase history: repeat buys make "frequently purchased" and due-again dates real."""
    now = timezone.now()
    for merchant in merchants:
        products = list(Product.objects.filter(merchant=merchant).order_by("sku"))
        members = Membership.objects.filter(merchant=merchant).select_related("shopper").order_by("number")
        for membership in members:
            for n in range(3):
                external_id = f"demo-{membership.shopper.external_id}-{n}"
                if Order.objects.filter(merchant=merchant, external_id=external_id).exists():
                    continue
                bought = [products[0], products[(membership.number + n) % len(products)]]
                lines = {p.sku: OrderLineInput(sku=p.sku, quantity=1, unit_price=p.price) for p in bought}
                purchase_record(
                    merchant=merchant,
                    order=OrderInput(
                        external_id=external_id,
                        shopper=membership.shopper.external_id,
                        paid_at=now - timedelta(days=30 * (3 - n)),
                        lines=tuple(lines.values()),
                    ),
                )


def _seed_unclaimed_buyer() -> None:
    slug, platform_id = UNCLAIMED_BUYER
    merchant = Merchant.objects.get(slug=slug)
    if Order.objects.filter(merchant=merchant, external_id=f"demo-{platform_id}").exists():
        return
    product = Product.objects.filter(merchant=merchant).order_by("sku").first()
    purchase_record(
        merchant=merchant,
        order=OrderInput(
            external_id=f"demo-{platform_id}",
            shopper=platform_id,
            lines=(OrderLineInput(sku=product.sku, quantity=1, unit_price=product.price),),
        ),
    )


def _seed_campaigns(merchant: Merchant) -> None:
    """A scheduled campaign ("every Monday 10:00, 20 off to iron fans who have not bought
    in 30 days") and one to run by hand from the admin (every follower of the brand
    account, members or not)."""
    if Campaign.objects.filter(merchant=merchant).exists():
        return
    template = coupon_template_create(
        merchant=merchant,
        name="We miss you: 20 off",
        kind="fixed",
        value=Decimal("20"),
        min_spend=Decimal("60"),
        valid_days=14,
        stock=1000,
    )
    campaign_create(
        merchant=merchant,
        name="Monday love for lapsed iron fans",
        template=template.pk,
        audience={"iron_fans": True, "lapsed_days": 30},
        schedule="0 10 * * 1",
    )
    campaign_create(
        merchant=merchant,
        name="Thank you, followers",
        template=template.pk,
        audience={"followers_of": merchant.slug},
    )


def _seed_cancelled_runs(merchants: list[Merchant]) -> None:
    """A cancelled run of each merchant's campaign to run by hand, so that the campaign
    pages show one: requested, split into its chunks, then cancelled before a worker ran
    any (the chunk tasks it sent find it cancelled and issue nothing). After the follows,
    so that its audience is the brand's followers; nothing is left unfinished, so "Run
    now" works at once."""
    for merchant in merchants:
        if CampaignRun.objects.filter(merchant=merchant).exists():
            continue
        campaign = Campaign.objects.get(merchant=merchant, name="Thank you, followers")
        run = campaign_run_request(campaign=campaign)
        campaign_run_start(run_id=run.pk)
        campaign_run_cancel(run=run)


def _seed_program(merchant: Merchant) -> None:
    """A join bonus, a welcome coupon, a repurchase coupon and one to buy with points."""
    welcome = coupon_template_create(
        merchant=merchant, name="Welcome: 5 off", kind="fixed", value=Decimal("5"), valid_days=30
    )
    come_back = coupon_template_create(
        merchant=merchant,
        name="Come back: 10% off over 50",
        kind="percent",
        value=Decimal("10"),
        max_discount=Decimal("30"),
        min_spend=Decimal("50"),
        valid_days=45,
    )
    coupon_template_create(
        merchant=merchant,
        name="20 off for 500 points",
        kind="fixed",
        value=Decimal("20"),
        min_spend=Decimal("100"),
        valid_days=60,
        points_price=500,
        per_member_limit=2,
    )
    program_update(
        merchant=merchant,
        join_bonus_points=JOIN_BONUS_POINTS,
        join_coupon_template=welcome.pk,
        repurchase_template=come_back.pk,
    )


DEMO_WEBHOOK_URL = "https://crm.example.com/fanbase/webhooks"
# A member who reached Gold with a big order long ago and spent little since: the nightly
# review moves them one tier down (the demo runs it at once).
LAPSED_GOLD = "shopper5"


def _seed_tier_reward(merchant: Merchant) -> None:
    """Reaching Gold issues a coupon (once a year at most)."""
    gold = Tier.objects.get(merchant=merchant, name="Gold")
    if TierReward.objects.filter(tier=gold).exists():
        return
    template = coupon_template_create(
        merchant=merchant, name="Welcome to Gold: 30 off", kind="fixed", value=Decimal("30"), valid_days=60
    )
    TierReward.objects.create(tier=gold, template=template)


def _seed_webhook_endpoint(merchant: Merchant) -> None:
    """A disabled example endpoint (nothing receives at example.com, and ``make run`` is
    offline): staff see the form, the events and the reason; pointing it at a real receiver
    and "Enable again" starts deliveries."""
    if WebhookEndpoint.objects.filter(merchant=merchant).exists():
        return
    endpoint = webhook_endpoint_create(merchant=merchant, url=DEMO_WEBHOOK_URL, events=list(EventType.values))
    webhook_endpoint_disable(
        endpoint_id=endpoint.pk,
        reason="Demo example: example.com receives nothing. "
        "Point it at your own receiver, then Enable again.",
    )


def _seed_tier_history(merchant: Merchant) -> None:
    """Tier history of all three kinds: orders' upgrades (already), a staff move, and the
    nightly review moving a lapsed Gold member one tier down."""
    if TierChange.objects.filter(membership__merchant=merchant, reason=TierChange.Reason.REVIEW).exists():
        return
    now = timezone.now()
    lapsed = Membership.objects.filter(merchant=merchant, shopper__external_id=LAPSED_GOLD).first()
    if lapsed is not None:
        product = Product.objects.filter(merchant=merchant).order_by("-price").first()
        purchase_record(
            merchant=merchant,
            order=OrderInput(
                external_id=f"demo-{LAPSED_GOLD}-big",
                shopper=LAPSED_GOLD,
                paid_at=now - timedelta(days=360),
                lines=(OrderLineInput(sku=product.sku, quantity=10, unit_price=product.price),),
            ),
        )
        # As if a year had passed since: Gold reached 370 days ago, nothing bought since.
        Membership.objects.filter(pk=lapsed.pk).update(tier_since=now - timedelta(days=370))
        Order.objects.filter(merchant=merchant, shopper=lapsed.shopper).update(
            paid_at=now - timedelta(days=370)
        )
        tier_review(now=now, merchant_id=merchant.pk)
    vip = Membership.objects.filter(merchant=merchant, shopper__external_id=SHOPPERS[-1]).first()
    staff = MerchantStaff.objects.filter(merchant=merchant).select_related("user").first()
    if vip is not None:
        gold = Tier.objects.get(merchant=merchant, name="Gold")
        tier_change_manual(
            membership=vip,
            to_tier=gold if vip.tier_id != gold.pk else Tier.objects.get(merchant=merchant, name="Silver"),
            by=staff.user if staff else None,
            note="Demo: brand ambassador",
        )
