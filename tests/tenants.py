"""Two complete tenants for the harness tests: the tenancy sweep and the authenticated fuzz.

``tenant_build(prefix)`` makes one merchant with a little of everything (a program, a
catalog, a published product with its rollout, a KOE account, a tier, a coupon
template, a campaign and a failed run, two orders) and one shopper with a login who is
its member, a fan of its account, holds its coupon, bought from it and has an inbox
message of it; plus a second shopper without a login that only this merchant knows
(named in an order). Every identifier carries ``prefix`` so that a leak is a grep.

``tenant_rows(tenant, caller)`` is what "changes nothing" compares: per model, the row
count and a SHA-256 of every column of every row the other tenant owns, the merchant's
(``for_merchant``) for a merchant caller, the shopper's (rows reached from the shopper
by foreign keys) for a shopper caller.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps
from django.utils import timezone
from knox.models import AuthToken

from loyalty.services.memberships import membership_enrol
from loyalty.services.purchases import OrderInput, OrderLineInput, purchase_record
from members.admin_scoping import has_merchant_scope
from members.models import Account, Merchant, Shopper
from members.services import follow_create
from members.webhooks.endpoints import webhook_subscriptions_refresh
from members.webhooks.models import WebhookEndpoint
from members.webhooks.signing import secret_new
from storefront.models import InboxMessage, Product, PushRollout
from tests.coupons.factories import CampaignFactory, CampaignRunFactory, CouponFactory, CouponTemplateFactory
from tests.loyalty.factories import PointsEntryFactory, ProgramFactory
from tests.members.factories import MerchantAPIKeyFactory, ShopperFactory, TierFactory, UserFactory
from tests.storefront.factories import ProductFactory

APPS = ("members", "storefront", "coupons", "loyalty")


@dataclass
class Tenant:
    prefix: str
    merchant: Merchant
    product: Product
    account: Account
    template: object
    campaign: object
    run: object
    order_id: str
    shopper: Shopper  # has a login: the shopper tenant
    named: Shopper  # no login, known to this merchant only
    coupon_code: str
    inbox_message: InboxMessage
    webhook: WebhookEndpoint
    api_key: str
    token: str

    @property
    def merchant_auth(self) -> str:
        return f"Api-Key {self.api_key}"

    @property
    def shopper_auth(self) -> str:
        return f"Token {self.token}"


def tenant_build(prefix: str) -> Tenant:
    merchant = Merchant.objects.create(slug=f"{prefix}-shop", name=f"{prefix.title()} Shop")
    ProgramFactory(merchant=merchant, points_per_unit=Decimal("1"), points_expiry_days=365)
    product = ProductFactory(
        merchant=merchant, sku=f"{prefix.upper()}-1", title=f"{prefix} tee", price=Decimal("10.00")
    )
    ProductFactory(merchant=merchant, sku=f"{prefix.upper()}-2", title=f"{prefix} mug", price=Decimal("5.00"))
    account = Account.objects.create(
        merchant=merchant, handle=f"{prefix}-koe", kind="koe", display_name=prefix
    )
    TierFactory(merchant=merchant, name=f"{prefix} gold", rank=3, min_spend_12m=Decimal("100.00"))
    template = CouponTemplateFactory(
        merchant=merchant, name=f"{prefix} five off", points_price=10, stock=100, per_member_limit=5
    )
    shopper = ShopperFactory(external_id=f"{prefix}-shopper", user=UserFactory(username=f"{prefix}-shopper"))
    named = ShopperFactory(external_id=f"{prefix}-named")
    membership = membership_enrol(shopper=shopper, merchant=merchant).membership
    PointsEntryFactory(account=membership.points_account, delta=1000, remaining=1000)
    follow_create(shopper=shopper, handle=account.handle)
    coupon = CouponFactory(template=template, shopper=shopper)
    campaign = CampaignFactory(
        merchant=merchant,
        template=template,
        name=f"{prefix} spring",
        audience={"followers_of": account.handle},
    )
    run = CampaignRunFactory(campaign=campaign, status="failed")
    for external_id, buyer in ((f"{prefix}-o-1", shopper.external_id), (f"{prefix}-o-2", named.external_id)):
        purchase_record(
            merchant=merchant,
            order=OrderInput(
                external_id=external_id,
                shopper=buyer,
                lines=(OrderLineInput(sku=product.sku, quantity=2, unit_price=Decimal("10.00")),),
            ),
        )
    now = timezone.now()
    product.published_at = now
    product.save(update_fields=["published_at"])
    rollout = PushRollout.objects.create(merchant=merchant, product=product, stage_started_at=now)
    inbox_message = InboxMessage.objects.create(
        shopper=shopper,
        product=product,
        rollout=rollout,
        stage=rollout.stage,
        created_at=now,
        delivered_at=now,
    )
    # Made here, not through the service: its URL check resolves the host, and the seed is offline.
    webhook = WebhookEndpoint.objects.create(
        merchant=merchant,
        url=f"https://hooks.{prefix}.example/fanbase",
        events=["order.recorded"],
        secret=secret_new(),
        created_at=now,
    )
    webhook_subscriptions_refresh(merchant_id=merchant.pk)
    _, token = AuthToken.objects.create(user=shopper.user)
    return Tenant(
        prefix=prefix,
        merchant=merchant,
        product=product,
        account=account,
        template=template,
        campaign=campaign,
        run=run,
        order_id=f"{prefix}-o-2",
        shopper=shopper,
        named=named,
        coupon_code=coupon.code,
        inbox_message=inbox_message,
        webhook=webhook,
        api_key=MerchantAPIKeyFactory(merchant=merchant).plain_key,
        token=token,
    )


def _domain_models():
    return [m for m in apps.get_models() if m._meta.app_label in APPS]


def _paths_to(model, target, depth: int = 3, prefix: str = "") -> list[str]:
    """Lookups from ``model`` to ``target`` along forward foreign keys (``membership__shopper``)."""
    if depth == 0:
        return []
    found = []
    for field in model._meta.concrete_fields:
        if not field.is_relation or field.related_model is None:
            continue
        lookup = f"{prefix}{field.name}"
        if field.related_model is target:
            found.append(lookup)
        elif field.related_model._meta.app_label in APPS:
            found.extend(_paths_to(field.related_model, target, depth - 1, f"{lookup}__"))
    return found


def _owned(tenant: Tenant, caller: str) -> dict:
    """Queryset per model of the rows ``tenant`` owns as a merchant or as a shopper."""
    owned = {}
    for model in _domain_models():
        if caller == "merchant" and has_merchant_scope(model):
            owned[model] = model._default_manager.for_merchant(tenant.merchant)
        elif caller == "shopper":
            if model is Shopper:
                owned[model] = Shopper.objects.filter(pk=tenant.shopper.pk)
                continue
            paths = _paths_to(model, Shopper)
            if paths:
                queryset = model._base_manager.none()
                for path in paths:
                    queryset = queryset | model._base_manager.filter(**{path: tenant.shopper})
                owned[model] = queryset
    return owned


def tenant_rows(tenant: Tenant, caller: str) -> dict:
    """{model label: (row count, SHA-256 of all columns of those rows)}."""
    snapshot = {}
    for model, queryset in _owned(tenant, caller).items():
        columns = [field.attname for field in model._meta.concrete_fields]
        rows = list(queryset.distinct().order_by("pk").values_list(*columns))
        snapshot[model._meta.label] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return snapshot


# (collection, parameter) -> the tenant's object that a path parameter names.
PATH_OBJECTS: dict[tuple[str, str], Callable[[Tenant], str]] = {
    ("products", "sku"): lambda t: t.product.sku,
    ("accounts", "handle"): lambda t: t.account.handle,
    ("orders", "external_id"): lambda t: t.order_id,
    ("shoppers", "external_id"): lambda t: t.named.external_id,
    ("coupon-templates", "template_id"): lambda t: str(t.template.pk),
    ("campaigns", "id"): lambda t: str(t.campaign.pk),
    ("runs", "run"): lambda t: str(t.run.pk),
    # Shopper routes: a merchant or an account names the shopper's own membership or follow.
    ("memberships", "merchant"): lambda t: t.merchant.slug,
    ("follows", "handle"): lambda t: t.account.handle,
    ("inbox", "id"): lambda t: str(t.inbox_message.pk),
    ("webhooks", "id"): lambda t: str(t.webhook.pk),
}


def path_parameters(path: str) -> list[tuple[str, str]]:
    """(collection, parameter) for each parameter: the segment before it names the collection."""
    segments = path.strip("/").split("/")
    return [
        (segments[i - 1], segment[1:-1])
        for i, segment in enumerate(segments)
        if segment.startswith("{") and segment.endswith("}")
    ]
