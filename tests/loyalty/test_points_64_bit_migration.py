"""Widening points to 64 bits keeps every row (loyalty 0002, storefront 0003)."""

from django.utils import timezone

# members 0005: later members migrations add NOT NULL columns the old rows below do not set.
BEFORE = [
    ("loyalty", "0001_initial"),
    ("storefront", "0002_alter_category_slug"),
    ("members", "0005_engagement"),
]
AFTER = [("loyalty", "0002_points_64_bit"), ("storefront", "0003_points_64_bit")]


def test_the_64_bit_migration_keeps_every_ledger_row_and_then_holds_more_than_32_bits(migrate_to):
    old = migrate_to(BEFORE)
    now = timezone.now()
    merchant = old.get_model("members", "Merchant").objects.create(slug="m-64", name="M")
    shopper = old.get_model("members", "Shopper").objects.create(external_id="s-64")
    membership = old.get_model("members", "Membership").objects.create(
        shopper=shopper, merchant=merchant, number=1, joined_at=now
    )
    account = old.get_model("loyalty", "PointsAccount").objects.create(
        membership=membership, balance=2**31 - 1, lifetime_earned=2**31 - 1
    )
    old.get_model("loyalty", "PointsEntry").objects.create(
        account=account, delta=2**31 - 1, kind="earn", remaining=2**31 - 1, created_at=now
    )
    old.get_model("storefront", "Order").objects.create(
        merchant=merchant,
        shopper=shopper,
        external_id="o-64",
        subtotal=1,
        total=1,
        points_earned=2**31 - 1,
        paid_at=now,
        payload_hash="h",
        response={},
    )

    new = migrate_to(AFTER)
    Account = new.get_model("loyalty", "PointsAccount")
    Entry = new.get_model("loyalty", "PointsEntry")
    Order = new.get_model("storefront", "Order")

    assert list(Account.objects.values_list("balance", "lifetime_earned")) == [(2**31 - 1, 2**31 - 1)]
    assert list(Entry.objects.values_list("delta", "remaining")) == [(2**31 - 1, 2**31 - 1)]
    assert list(Order.objects.values_list("points_earned", flat=True)) == [2**31 - 1]
    Account.objects.update(balance=2**40, lifetime_earned=2**40)
    Order.objects.update(points_earned=2**40, points_reversed=2**40)
    assert Account.objects.get().balance == 2**40
    assert Order.objects.get().points_reversed == 2**40
