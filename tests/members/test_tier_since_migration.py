"""members 0007 on a database with rows: members in a tier hold it since they joined."""

from datetime import timedelta

from django.utils import timezone

BEFORE = [("members", "0006_membership_iron_fan_flag")]
AFTER = [("members", "0007_membership_tier_since")]


def test_the_migration_dates_each_tiered_members_tier_from_their_join(migrate_to):
    old = migrate_to(BEFORE)
    joined = timezone.now() - timedelta(days=400)
    merchant = old.get_model("members", "Merchant").objects.create(slug="m-tier", name="M")
    tier = old.get_model("members", "Tier").objects.create(merchant=merchant, name="Gold", rank=1)
    Shopper = old.get_model("members", "Shopper")
    Membership = old.get_model("members", "Membership")
    Membership.objects.create(
        shopper=Shopper.objects.create(external_id="s-1"),
        merchant=merchant,
        number=1,
        tier=tier,
        joined_at=joined,
    )
    Membership.objects.create(
        shopper=Shopper.objects.create(external_id="s-2"), merchant=merchant, number=2, joined_at=joined
    )

    new = migrate_to(AFTER)

    rows = (
        new.get_model("members", "Membership").objects.order_by("number").values_list("number", "tier_since")
    )
    assert list(rows) == [(1, joined), (2, None)]
