"""POST /api/v1/me/memberships and DELETE /api/v1/me/memberships/{merchant}: joining and leaving."""

from decimal import Decimal

import pytest

from members.models import Membership
from tests.conftest import assert_error, row_counts, shopper_client, walk_pages
from tests.members.factories import MembershipFactory, ShopperFactory, TierFactory

MEMBERSHIPS = "/api/v1/me/memberships"


def join(client, merchant):
    return client.post(MEMBERSHIPS, {"merchant": merchant.slug}, format="json")


def test_joining_is_201_with_the_member_card(shopper_api, shopper, merchant):
    response = join(shopper_api, merchant)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["merchant"] == {"slug": merchant.slug, "name": merchant.name}
    assert body["number"] == 1
    assert body["status"] == "active"
    assert body["tier"] is None
    assert body["joined_at"]
    assert Membership.objects.get(shopper=shopper, merchant=merchant).number == 1


def test_a_new_member_starts_in_the_entry_tier(shopper_api, merchant):
    TierFactory(merchant=merchant, name="Fan", rank=1, min_spend_12m=Decimal("0"))
    TierFactory(merchant=merchant, name="Gold", rank=3, min_spend_12m=Decimal("2000"))

    response = join(shopper_api, merchant)

    assert response.json()["tier"] == "Fan"


def test_joining_again_is_200_with_the_same_card_and_writes_nothing(shopper_api, merchant):
    first = join(shopper_api, merchant)
    before = row_counts()

    second = join(shopper_api, merchant)

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert row_counts() == before


def test_member_numbers_count_up_per_merchant(db, merchant, other_merchant):
    shoppers = [shopper_client(ShopperFactory()) for _ in range(3)]

    here = [join(client, merchant).json()["number"] for client in shoppers]
    there = [join(client, other_merchant).json()["number"] for client in reversed(shoppers)]

    assert here == [1, 2, 3]
    assert there == [1, 2, 3]


def test_a_number_is_never_reused_after_a_member_leaves(db, merchant):
    first, second = shopper_client(ShopperFactory()), shopper_client(ShopperFactory())
    join(first, merchant)
    first.delete(f"{MEMBERSHIPS}/{merchant.slug}")

    assert join(second, merchant).json()["number"] == 2


def test_rejoining_after_leaving_reactivates_the_same_card(shopper_api, shopper, merchant):
    # given: a member who left
    card = join(shopper_api, merchant).json()
    join(shopper_client(ShopperFactory()), merchant)
    shopper_api.delete(f"{MEMBERSHIPS}/{merchant.slug}")

    # when
    response = join(shopper_api, merchant)

    # then: the same row and number, active again, with a new start date
    assert response.status_code == 201, response.content
    assert response.json()["number"] == card["number"] == 1
    assert response.json()["status"] == "active"
    membership = Membership.objects.get(shopper=shopper, merchant=merchant)
    assert membership.left_at is None
    assert response.json()["joined_at"] >= card["joined_at"]
    assert Membership.objects.filter(merchant=merchant).count() == 2


def test_joining_an_unknown_merchant_is_400_on_the_field_and_writes_nothing(shopper_api, merchant):
    before = row_counts()

    response = shopper_api.post(MEMBERSHIPS, {"merchant": "no-such-shop"}, format="json")

    assert_error(response, 400, "merchant_not_found", "merchant")
    assert row_counts() == before


@pytest.mark.parametrize(
    ("body", "code"),
    [({}, "required"), ({"merchant": "Not A Slug!"}, "invalid"), ({"merchant": ""}, "blank")],
    ids=["missing", "not-a-slug", "blank"],
)
def test_joining_with_a_malformed_body_is_400_and_writes_nothing(shopper_api, merchant, body, code):
    before = row_counts()

    response = shopper_api.post(MEMBERSHIPS, body, format="json")

    assert_error(response, 400, code, "merchant")
    assert row_counts() == before


# --- Leaving ----------------------------------------------------------------------


def test_leaving_is_204_and_keeps_the_card_for_a_rejoin(shopper_api, shopper, merchant):
    join(shopper_api, merchant)

    response = shopper_api.delete(f"{MEMBERSHIPS}/{merchant.slug}")

    assert response.status_code == 204
    membership = Membership.objects.get(shopper=shopper, merchant=merchant)
    assert membership.status == Membership.Status.LEFT
    assert membership.left_at is not None


def test_leaving_a_merchant_one_is_not_a_member_of_is_204_and_writes_nothing(shopper_api, merchant):
    before = row_counts()

    response = shopper_api.delete(f"{MEMBERSHIPS}/{merchant.slug}")

    assert response.status_code == 204
    assert row_counts() == before


def test_leaving_twice_is_204_both_times_as_unfollowing_is(shopper_api, shopper, merchant):
    join(shopper_api, merchant)
    shopper_api.delete(f"{MEMBERSHIPS}/{merchant.slug}")
    left = Membership.objects.get(shopper=shopper, merchant=merchant)

    response = shopper_api.delete(f"{MEMBERSHIPS}/{merchant.slug}")

    assert response.status_code == 204
    assert Membership.objects.get(pk=left.pk).left_at == left.left_at


def test_leaving_an_unknown_merchant_is_404(shopper_api):
    assert_error(shopper_api.delete(f"{MEMBERSHIPS}/no-such-shop"), 404, "merchant_not_found")


def test_leaving_never_touches_another_shoppers_membership(shopper_api, other_shopper, merchant):
    # given: only the other shopper is a member
    theirs = MembershipFactory(shopper=other_shopper, merchant=merchant)

    # when: this shopper tries to leave that merchant
    response = shopper_api.delete(f"{MEMBERSHIPS}/{merchant.slug}")

    # then: nothing to leave for this shopper, and the other membership is still active
    assert response.status_code == 204
    theirs.refresh_from_db()
    assert theirs.status == Membership.Status.ACTIVE
    assert theirs.left_at is None


def test_leaving_one_merchant_keeps_the_membership_of_another(shopper_api, shopper, merchant, other_merchant):
    join(shopper_api, merchant)
    join(shopper_api, other_merchant)

    shopper_api.delete(f"{MEMBERSHIPS}/{merchant.slug}")

    assert Membership.objects.get(shopper=shopper, merchant=other_merchant).status == "active"


# --- GET /api/v1/me/memberships ----------------------------------------------------------


def test_my_memberships_list_active_and_left_ones_newest_first_and_only_mine(
    shopper_api, shopper, other_shopper, merchant, other_merchant
):
    join(shopper_api, merchant)
    join(shopper_api, other_merchant)
    shopper_api.delete(f"{MEMBERSHIPS}/{merchant.slug}")
    MembershipFactory(shopper=other_shopper, merchant=merchant)

    response = shopper_api.get(MEMBERSHIPS)

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(m["merchant"]["slug"], m["status"]) for m in rows] == [
        (other_merchant.slug, "active"),
        (merchant.slug, "left"),
    ]


def test_my_memberships_page_with_a_stable_cursor(shopper_api, shopper):
    for _ in range(5):
        MembershipFactory(shopper=shopper)

    rows = walk_pages(
        shopper_api, MEMBERSHIPS, {"page_size": 2}, between=lambda: MembershipFactory(shopper=shopper)
    )

    numbers = [(m["merchant"]["slug"]) for m in rows]
    assert len(numbers) == len(set(numbers)) >= 5


@pytest.mark.parametrize("count", [2, 12])
def test_my_memberships_query_count_does_not_grow(shopper_api, shopper, django_assert_max_num_queries, count):
    for _ in range(count):
        MembershipFactory(shopper=shopper, tier=TierFactory())

    with django_assert_max_num_queries(2):  # the token with its shopper, the page
        assert len(shopper_api.get(MEMBERSHIPS).json()["results"]) == count


def test_a_merchant_key_on_my_memberships_is_401_naming_the_token_scheme(merchant_api):
    response = merchant_api.get(MEMBERSHIPS)

    assert_error(response, 401, "wrong_credential_kind")
    assert response.headers["WWW-Authenticate"] == "Token"
