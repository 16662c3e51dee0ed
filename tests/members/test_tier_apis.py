"""POST /api/v1/merchant/tiers: a merchant's membership tiers."""

from decimal import Decimal

import pytest

from members.models import Membership, Tier
from tests.conftest import assert_error, row_counts
from tests.members.factories import MembershipFactory, TierFactory

TIERS = "/api/v1/merchant/tiers"


def tier_body(**overrides) -> dict:
    return {"name": "Silver", "rank": 2, "min_spend_12m": "500.00", "earn_multiplier": "1.25", **overrides}


def test_merchant_creates_a_tier(merchant_api, merchant):
    response = merchant_api.post(TIERS, tier_body(), format="json")

    assert response.status_code == 201, response.content
    assert response.json() == {
        "name": "Silver",
        "rank": 2,
        "min_spend_12m": "500.00",
        "earn_multiplier": "1.25",
    }
    tier = Tier.objects.get(merchant=merchant, name="Silver")
    assert (tier.rank, tier.min_spend_12m, tier.earn_multiplier) == (2, Decimal("500"), Decimal("1.25"))


def test_the_earn_multiplier_defaults_to_one(merchant_api):
    response = merchant_api.post(TIERS, {"name": "Fan", "rank": 1, "min_spend_12m": "0"}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["earn_multiplier"] == "1.00"


@pytest.mark.parametrize(
    ("clash", "code"),
    [({"name": "Silver"}, "tier_name_taken"), ({"rank": 2}, "tier_rank_taken")],
    ids=["name", "rank"],
)
def test_a_taken_tier_name_or_rank_is_409_and_writes_nothing(merchant_api, merchant, clash, code):
    TierFactory(merchant=merchant, **{"name": "Other", "rank": 9, **clash})
    before = row_counts()

    response = merchant_api.post(TIERS, tier_body(), format="json")

    assert_error(response, 409, code)
    assert row_counts() == before


def test_another_merchants_tier_names_and_ranks_are_free(merchant_api, merchant, other_merchant):
    TierFactory(merchant=other_merchant, name="Silver", rank=2)

    response = merchant_api.post(TIERS, tier_body(), format="json")

    assert response.status_code == 201, response.content
    assert Tier.objects.filter(name="Silver").count() == 2


@pytest.mark.parametrize(
    ("overrides", "attr"),
    [
        ({"min_spend_12m": "-0.01"}, "min_spend_12m"),
        ({"min_spend_12m": "lots"}, "min_spend_12m"),
        ({"earn_multiplier": "0"}, "earn_multiplier"),
        ({"earn_multiplier": "-1"}, "earn_multiplier"),
        ({"rank": -1}, "rank"),
        ({"rank": "first"}, "rank"),
        ({"name": ""}, "name"),
        ({"name": "n" * 51}, "name"),
    ],
    ids=[
        "negative-spend",
        "spend-not-a-number",
        "zero-multiplier",
        "negative-multiplier",
        "negative-rank",
        "rank-not-a-number",
        "blank-name",
        "long-name",
    ],
)
def test_a_malformed_tier_is_400_and_writes_nothing(merchant_api, overrides, attr):
    before = row_counts()

    response = merchant_api.post(TIERS, tier_body(**overrides), format="json")

    assert response.status_code == 400, response.content
    assert response.json()["type"] == "validation_error"
    assert attr in [e["attr"] for e in response.json()["errors"]]
    assert row_counts() == before


@pytest.mark.parametrize("missing", ["name", "rank", "min_spend_12m"])
def test_a_tier_without_a_required_field_is_400(merchant_api, missing):
    body = tier_body()
    del body[missing]

    assert_error(merchant_api.post(TIERS, body, format="json"), 400, "required", missing)


# --- The entry tier -------------------------------------------------------------------


def test_an_entry_tier_takes_in_the_members_without_a_tier(merchant_api, merchant, other_merchant):
    # given: members without a tier here and at another merchant, and one in a paid tier
    untiered = MembershipFactory.create_batch(2, merchant=merchant, tier=None)
    gold = TierFactory(merchant=merchant, name="Gold", rank=5, min_spend_12m=Decimal("2000"))
    in_gold = MembershipFactory(merchant=merchant, tier=gold)
    elsewhere = MembershipFactory(merchant=other_merchant, tier=None)

    # when: the merchant adds a tier that needs no spend
    response = merchant_api.post(TIERS, {"name": "Fan", "rank": 1, "min_spend_12m": "0"}, format="json")

    # then: its untiered members are in it; the others are untouched
    assert response.status_code == 201, response.content
    fan = Tier.objects.get(merchant=merchant, name="Fan")
    assert {m.pk for m in Membership.objects.filter(tier=fan)} == {m.pk for m in untiered}
    in_gold.refresh_from_db()
    elsewhere.refresh_from_db()
    assert in_gold.tier == gold
    assert elsewhere.tier is None


def test_a_tier_that_needs_spend_takes_in_no_one(merchant_api, merchant):
    member = MembershipFactory(merchant=merchant, tier=None)

    merchant_api.post(TIERS, tier_body(), format="json")

    member.refresh_from_db()
    assert member.tier is None


def test_a_higher_entry_tier_takes_in_the_members_of_a_lower_one(merchant_api, merchant):
    basic = TierFactory(merchant=merchant, name="Basic", rank=1, min_spend_12m=Decimal("0"))
    member = MembershipFactory(merchant=merchant, tier=basic)

    merchant_api.post(TIERS, {"name": "Fan", "rank": 2, "min_spend_12m": "0"}, format="json")

    member.refresh_from_db()
    assert member.tier.name == "Fan"


def test_a_lower_entry_tier_leaves_members_in_the_higher_one_and_untiered_go_to_the_higher(
    merchant_api, merchant
):
    # given: Fan (rank 2, no spend) is the entry tier; one member has lost their tier
    fan = TierFactory(merchant=merchant, name="Fan", rank=2, min_spend_12m=Decimal("0"))
    in_fan = MembershipFactory(merchant=merchant, tier=fan)
    untiered = MembershipFactory(merchant=merchant, tier=None)

    # when: a lower tier that needs no spend is added
    merchant_api.post(TIERS, {"name": "Basic", "rank": 1, "min_spend_12m": "0"}, format="json")

    # then: everyone without spend is in the entry tier, where a new member would start
    in_fan.refresh_from_db()
    untiered.refresh_from_db()
    assert in_fan.tier == fan
    assert untiered.tier == fan


# --- Read back --------------------------------------------------------------------------


def test_tiers_read_back_lowest_rank_first_and_only_the_merchants_own(merchant_api, merchant, other_merchant):
    TierFactory(merchant=merchant, name="Gold", rank=3, min_spend_12m=Decimal("1000"))
    TierFactory(merchant=merchant, name="Fan", rank=1, min_spend_12m=Decimal("0"))
    TierFactory(merchant=other_merchant, name="Theirs", rank=2)

    response = merchant_api.get(TIERS)

    assert response.status_code == 200
    assert [(t["name"], t["rank"], t["min_spend_12m"]) for t in response.json()["results"]] == [
        ("Fan", 1, "0.00"),
        ("Gold", 3, "1000.00"),
    ]


@pytest.mark.parametrize("count", [2, 12])
def test_tier_list_query_count_does_not_grow_with_tiers(
    merchant_api, merchant, django_assert_max_num_queries, count
):
    for rank in range(count):
        TierFactory(merchant=merchant, name=f"T{rank}", rank=rank)

    with django_assert_max_num_queries(2):  # the API key, the page
        assert len(merchant_api.get(TIERS).json()["results"]) == count
