"""members 0009 on a database with follows: each account starts with the counts of its follows."""

BEFORE = [("members", "0008_webhooks")]
AFTER = [("members", "0009_account_fan_counts")]


def test_the_migration_counts_each_accounts_fans_and_iron_fans(migrate_to):
    # Given a merchant's two accounts, one with two fans (one an iron fan), one with none
    old = migrate_to(BEFORE)
    merchant = old.get_model("members", "Merchant").objects.create(slug="m-fans", name="M")
    Account = old.get_model("members", "Account")
    lin = Account.objects.create(merchant=merchant, handle="m-lin", kind="koe", display_name="Lin")
    quiet = Account.objects.create(merchant=merchant, handle="m-quiet", kind="koe", display_name="Q")
    Shopper, Follow = old.get_model("members", "Shopper"), old.get_model("members", "Follow")
    for i, iron in enumerate([True, False]):
        Follow.objects.create(
            shopper=Shopper.objects.create(external_id=f"f-{i}"), account=lin, iron_fan=iron
        )

    new = migrate_to(AFTER)

    # Then the fan follows carry over as counts; an account without fans has no row (reads as 0)
    counts = new.get_model("members", "AccountFanCount").objects.values_list(
        "account_id", "fans", "iron_fans"
    )
    assert list(counts) == [(lin.pk, 2, 1)]
    assert quiet.pk not in {row[0] for row in counts}
