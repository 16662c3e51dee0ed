"""GET /api/v1/merchant/members: the merchant's members with their tier and iron-fan status."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models.functions import Coalesce
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer

from loyalty.apis.memberships import MemberOutput
from members.models import Membership
from tests.conftest import assert_error, row_counts
from tests.loyalty.factories import PointsAccountFactory
from tests.members.factories import AccountFactory, FollowFactory, MembershipFactory, TierFactory

MEMBERS = "/api/v1/merchant/members"

# The API key, the tier named by ?tier= (only then), one page of members with their
# tier, points and iron-fan flag (the membership's own).
MEMBER_LIST_QUERIES = 3


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [m["shopper"] for m in response.json()["results"]]


def test_member_list_shows_active_members_newest_first(merchant_api, merchant):
    tier = TierFactory(merchant=merchant, name="Fan")
    first = MembershipFactory(merchant=merchant, tier=tier)
    second = MembershipFactory(merchant=merchant)

    response = merchant_api.get(MEMBERS)

    assert listed(response) == [second.shopper.external_id, first.shopper.external_id]
    row = response.json()["results"][1]
    assert row["display_name"] == first.shopper.display_name
    assert row["number"] == first.number
    assert row["tier"] == "Fan"
    assert row["iron_fan"] is False
    assert row["joined_at"]
    assert response.json()["next"] is None


def test_member_list_leaves_out_members_who_left(merchant_api, merchant):
    MembershipFactory(merchant=merchant, status=Membership.Status.LEFT)
    stays = MembershipFactory(merchant=merchant)

    assert listed(merchant_api.get(MEMBERS)) == [stays.shopper.external_id]


def test_member_list_never_shows_another_merchants_members(merchant_api, merchant, other_merchant):
    ours = MembershipFactory(merchant=merchant)
    MembershipFactory(merchant=other_merchant)
    MembershipFactory(merchant=other_merchant, shopper=ours.shopper)

    response = merchant_api.get(MEMBERS)

    assert listed(response) == [ours.shopper.external_id]
    assert [m["number"] for m in response.json()["results"]] == [ours.number]


@pytest.mark.parametrize(
    ("value", "expected"), [("true", ["fan"]), ("false", ["casual"]), (None, ["casual", "fan"])]
)
def test_member_list_filters_by_iron_fan(merchant_api, merchant, value, expected):
    # given: an iron fan of one of the merchant's accounts, and a member who merely follows
    account = AccountFactory(merchant=merchant)
    fan = MembershipFactory(merchant=merchant, shopper__external_id="fan")
    casual = MembershipFactory(merchant=merchant, shopper__external_id="casual")
    FollowFactory(shopper=fan.shopper, account=account, iron_fan=True)
    FollowFactory(shopper=casual.shopper, account=account, iron_fan=False)

    response = merchant_api.get(MEMBERS, {} if value is None else {"iron_fan": value})

    assert listed(response) == expected
    assert {m["shopper"]: m["iron_fan"] for m in response.json()["results"]} == {
        name: name == "fan" for name in expected
    }


def test_an_iron_fan_of_another_merchant_is_no_iron_fan_here(merchant_api, merchant, other_merchant):
    member = MembershipFactory(merchant=merchant)
    FollowFactory(shopper=member.shopper, account=AccountFactory(merchant=other_merchant), iron_fan=True)

    assert listed(merchant_api.get(MEMBERS, {"iron_fan": "true"})) == []
    assert merchant_api.get(MEMBERS).json()["results"][0]["iron_fan"] is False


def test_member_list_filters_by_tier_name(merchant_api, merchant):
    fan = TierFactory(merchant=merchant, name="Fan", rank=1)
    gold = TierFactory(merchant=merchant, name="Gold", rank=3, min_spend_12m=Decimal("2000"))
    MembershipFactory(merchant=merchant, tier=fan)
    golden = MembershipFactory(merchant=merchant, tier=gold)

    assert listed(merchant_api.get(MEMBERS, {"tier": "Gold"})) == [golden.shopper.external_id]


def test_member_list_combines_both_filters(merchant_api, merchant):
    gold = TierFactory(merchant=merchant, name="Gold")
    account = AccountFactory(merchant=merchant)
    golden_fan = MembershipFactory(merchant=merchant, tier=gold)
    MembershipFactory(merchant=merchant, tier=gold)
    FollowFactory(shopper=golden_fan.shopper, account=account, iron_fan=True)

    response = merchant_api.get(MEMBERS, {"tier": "Gold", "iron_fan": "true"})

    assert listed(response) == [golden_fan.shopper.external_id]


def test_an_unknown_tier_is_400_tier_not_found(merchant_api, merchant):
    MembershipFactory(merchant=merchant)

    assert_error(merchant_api.get(MEMBERS, {"tier": "Platinum"}), 400, "tier_not_found", "tier")


def test_another_merchants_tier_name_is_unknown_here(merchant_api, merchant, other_merchant):
    TierFactory(merchant=other_merchant, name="Theirs")

    assert_error(merchant_api.get(MEMBERS, {"tier": "Theirs"}), 400, "tier_not_found", "tier")


@pytest.mark.parametrize(
    ("params", "attr"),
    [({"iron_fan": "maybe"}, "iron_fan"), ({"tier": "t" * 51}, "tier")],
    ids=["iron-fan-maybe", "tier-too-long"],
)
def test_malformed_filters_are_400_and_write_nothing(merchant_api, merchant, params, attr):
    MembershipFactory(merchant=merchant)
    before = row_counts()

    response = merchant_api.get(MEMBERS, params)

    assert response.status_code == 400, response.content
    assert response.json()["type"] == "validation_error"
    assert attr in [e["attr"] for e in response.json()["errors"]]
    assert row_counts() == before


def test_an_empty_tier_parameter_is_a_400_as_the_schema_says(merchant_api, merchant):
    # The schema gives `tier` a minLength of 1; leave the parameter out to list every tier.
    MembershipFactory(merchant=merchant, tier=TierFactory(merchant=merchant))

    assert_error(merchant_api.get(MEMBERS, {"tier": ""}), 400, "blank", "tier")


def test_member_list_pages_with_a_next_link(merchant_api, merchant):
    MembershipFactory.create_batch(3, merchant=merchant)

    first = merchant_api.get(MEMBERS, {"page_size": 2}).json()
    second = merchant_api.get(first["next"]).json()

    assert len(first["results"]) == 2
    assert len(second["results"]) == 1
    assert second["next"] is None


@pytest.mark.parametrize("params", [{}, {"tier": "Fan", "iron_fan": "true"}], ids=["all", "filtered"])
def test_member_list_query_count_does_not_grow_with_members(
    merchant_api, merchant, django_assert_max_num_queries, params
):
    fan = TierFactory(merchant=merchant, name="Fan")
    account = AccountFactory(merchant=merchant)

    def add_members(count: int) -> None:
        for membership in MembershipFactory.create_batch(count, merchant=merchant, tier=fan):
            FollowFactory(shopper=membership.shopper, account=account, iron_fan=True)

    add_members(3)
    with django_assert_max_num_queries(MEMBER_LIST_QUERIES), CaptureQueriesContext(connection) as few:
        assert len(listed(merchant_api.get(MEMBERS, params))) == 3

    add_members(20)
    with django_assert_max_num_queries(MEMBER_LIST_QUERIES), CaptureQueriesContext(connection) as many:
        assert len(listed(merchant_api.get(MEMBERS, params))) == 23

    assert len(many) == len(few)


def test_a_forged_cursor_is_400_on_the_cursor(merchant_api, merchant):
    MembershipFactory(merchant=merchant)

    assert_error(merchant_api.get(MEMBERS, {"cursor": "not-a-cursor"}), 400, "invalid_cursor", "cursor")


@pytest.mark.parametrize("params", [{}, {"iron_fan": "true"}, {"iron_fan": "false"}, {"tier": "Fan"}])
def test_member_list_walks_every_page_forward_and_back(merchant_api, merchant, params):
    # given: seven members, some iron fans, some in the tier, one who left
    fan = TierFactory(merchant=merchant, name="Fan")
    members = [
        MembershipFactory(merchant=merchant, tier=fan if n % 2 else None, iron_fan=n % 3 == 0)
        for n in range(7)
    ]
    MembershipFactory(merchant=merchant, status=Membership.Status.LEFT, tier=fan, iron_fan=True)
    shown = [
        m.shopper.external_id
        for m in sorted(members, key=lambda m: m.pk, reverse=True)
        if ("tier" not in params or m.tier_id == fan.pk)
        and ("iron_fan" not in params or m.iron_fan == (params["iron_fan"] == "true"))
    ]

    # when: following every next link, then every previous link back
    pages = [merchant_api.get(MEMBERS, {**params, "page_size": 2}).json()]
    while pages[-1]["next"]:
        pages.append(merchant_api.get(pages[-1]["next"]).json())
    back = [pages[-1]]
    while back[-1]["previous"]:
        back.append(merchant_api.get(back[-1]["previous"]).json())

    # then: each member once, newest first, and the same pages on the way back
    assert [m["shopper"] for page in pages for m in page["results"]] == shown
    assert pages[0]["previous"] is None
    assert [page["results"] for page in reversed(back)] == [page["results"] for page in pages]


def test_the_answer_built_directly_is_the_serializers_answer(merchant_api, merchant):
    # Given members with every kind of field: a tier or none, a tier date or none, iron fan
    # or not, a points account or none (0 points), a blank name, microseconds in the times
    gold = TierFactory(merchant=merchant, name="Gold")
    moment = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    tiered = MembershipFactory(
        merchant=merchant, tier=gold, tier_since=moment, joined_at=moment - timedelta(days=9), iron_fan=True
    )
    PointsAccountFactory(membership=tiered, balance=-12, lifetime_earned=3_000_000_000)
    plain = MembershipFactory(
        merchant=merchant, shopper__display_name="", joined_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    PointsAccountFactory(membership=plain, balance=0, lifetime_earned=0)
    MembershipFactory(merchant=merchant, tier=gold, tier_since=None, iron_fan=False)
    MembershipFactory(merchant=merchant, tier=None, tier_since=moment, iron_fan=True)

    response = merchant_api.get(MEMBERS)

    # Then the answer is, byte for byte, what MemberOutput makes of the ORM's models
    assert response.status_code == 200, response.content
    models = (
        Membership.objects.filter(merchant=merchant, status=Membership.Status.ACTIVE)
        .select_related("shopper", "tier")
        .annotate(
            points_balance=Coalesce("points_account__balance", 0),
            lifetime_points=Coalesce("points_account__lifetime_earned", 0),
        )
        .order_by("-id")
    )
    expected = JSONRenderer().render(MemberOutput(models, many=True).data)
    assert json.dumps(response.json()["results"]) == json.dumps(json.loads(expected))
    assert {(m["tier"], m["iron_fan"], m["points_balance"]) for m in response.json()["results"]} == {
        ("Gold", True, -12),
        (None, False, 0),
        ("Gold", False, 0),
        (None, True, 0),
    }
