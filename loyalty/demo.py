"""Demo data for ``make run``: two merchants with accounts, tiers, staff and fans.

Idempotent: every row is looked up before it is created, so running it again changes
nothing but the demo API keys (keys are stored hashed, so a fresh one is issued and
the previous demo keys are revoked).
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from loyalty import services as loyalty_services
from members import services as members_services
from members.models import Account, Follow, Merchant, MerchantAPIKey, MerchantStaff, Shopper, Tier

DEMO_PASSWORD = "fanbase-demo"
DEMO_KEY_NAME = "demo"

MERCHANTS = [
    ("acme-beauty", "Acme Beauty", ["acme-lin", "acme-jo"]),
    ("river-tea", "River Tea House", ["river-mei", "river-sam"]),
]
TIERS = [("Fan", 1, "0", "1.00"), ("Silver", 2, "500", "1.25"), ("Gold", 3, "2000", "1.50")]
SHOPPERS = ["shopper1", "shopper2", "shopper3", "shopper4", "shopper5", "shopper6"]


@dataclass
class DemoLogins:
    superuser: str = "admin"
    staff: dict[str, str] = field(default_factory=dict)  # merchant slug -> username
    shoppers: list[str] = field(default_factory=list)
    api_keys: dict[str, str] = field(default_factory=dict)  # merchant slug -> key


@transaction.atomic
def seed_demo() -> DemoLogins:
    logins = DemoLogins()
    User = get_user_model()
    if not User.objects.filter(username=logins.superuser).exists():
        User.objects.create_superuser(logins.superuser, password=DEMO_PASSWORD)

    for slug, name, koe_handles in MERCHANTS:
        merchant = Merchant.objects.filter(slug=slug).first()
        if merchant is None:
            merchant = members_services.merchant_create(slug=slug, name=name)
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
            loyalty_services.membership_enrol(shopper=shopper, merchant=merchant)
    # A few iron fans so the member list's filter has something to show before the
    # scoring job has run on real engagement.
    Follow.objects.filter(shopper__external_id__in=SHOPPERS[:2], account__kind=Account.Kind.KOE).update(
        iron_fan=True
    )
    return logins
