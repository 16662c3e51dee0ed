"""GET/POST /api/v1/me/follows and DELETE /api/v1/me/follows/{handle}: a shopper's fandom."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import Follow
from tests.conftest import assert_error, row_counts
from tests.members.factories import AccountFactory, FollowFactory

FOLLOWS = "/api/v1/me/follows"

# Token and shopper in one query, then one page of follows with their accounts.
FOLLOW_LIST_QUERIES = 2


def test_following_an_account_is_201_with_the_account_and_fan_status(shopper_api, shopper):
    account = AccountFactory(handle="lin-koe", display_name="Lin")

    response = shopper_api.post(FOLLOWS, {"account": "lin-koe"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["account"] == "lin-koe"
    assert body["account_kind"] == "koe"
    assert body["display_name"] == "Lin"
    assert body["merchant"] == account.merchant.slug
    assert body["iron_fan"] is False
    assert body["iron_fan_since"] is None
    assert body["followed_at"]
    assert Follow.objects.filter(shopper=shopper, account=account).count() == 1


def test_following_again_is_200_and_adds_no_row(shopper_api, shopper):
    account = AccountFactory(handle="twice")
    first = shopper_api.post(FOLLOWS, {"account": "twice"}, format="json")
    before = row_counts()

    second = shopper_api.post(FOLLOWS, {"account": "twice"}, format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert row_counts() == before
    assert Follow.objects.filter(shopper=shopper, account=account).count() == 1


def test_following_an_unknown_handle_is_400_on_the_field_and_writes_nothing(shopper_api):
    before = row_counts()

    response = shopper_api.post(FOLLOWS, {"account": "nobody-here"}, format="json")

    assert_error(response, 400, "account_not_found", "account")
    assert row_counts() == before


def test_following_without_an_account_is_400_and_writes_nothing(shopper_api):
    AccountFactory()
    before = row_counts()

    response = shopper_api.post(FOLLOWS, {}, format="json")

    assert_error(response, 400, "required", "account")
    assert row_counts() == before


def test_follow_list_shows_the_shoppers_follows_newest_first(shopper_api, shopper):
    older = FollowFactory(shopper=shopper)
    newer = FollowFactory(shopper=shopper)

    response = shopper_api.get(FOLLOWS)

    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    assert [f["account"] for f in body["results"]] == [newer.account.handle, older.account.handle]


def test_follow_list_shows_iron_fan_status(shopper_api, shopper):
    FollowFactory(shopper=shopper, iron_fan=True)

    [follow] = shopper_api.get(FOLLOWS).json()["results"]

    assert follow["iron_fan"] is True


def test_follow_list_never_shows_another_shoppers_follows(shopper_api, shopper, other_shopper):
    mine = FollowFactory(shopper=shopper)
    FollowFactory(shopper=other_shopper)
    FollowFactory(shopper=other_shopper, account=mine.account)

    results = shopper_api.get(FOLLOWS).json()["results"]

    assert [f["account"] for f in results] == [mine.account.handle]


def test_follow_list_pages_with_a_next_link(shopper_api, shopper):
    FollowFactory.create_batch(3, shopper=shopper)

    first = shopper_api.get(FOLLOWS, {"page_size": 2}).json()
    second = shopper_api.get(first["next"]).json()

    assert len(first["results"]) == 2
    assert len(second["results"]) == 1
    assert second["next"] is None


def test_follow_list_query_count_does_not_grow_with_follows(
    shopper_api, shopper, django_assert_max_num_queries
):
    FollowFactory.create_batch(3, shopper=shopper)
    with django_assert_max_num_queries(FOLLOW_LIST_QUERIES), CaptureQueriesContext(connection) as few:
        assert len(shopper_api.get(FOLLOWS).json()["results"]) == 3

    FollowFactory.create_batch(20, shopper=shopper)
    with django_assert_max_num_queries(FOLLOW_LIST_QUERIES), CaptureQueriesContext(connection) as many:
        assert len(shopper_api.get(FOLLOWS).json()["results"]) == 23

    assert len(many) == len(few)


# --- Unfollow ---------------------------------------------------------------------


def test_unfollowing_is_204_and_removes_the_follow(shopper_api, shopper):
    follow = FollowFactory(shopper=shopper)

    response = shopper_api.delete(f"{FOLLOWS}/{follow.account.handle}")

    assert response.status_code == 204
    assert not Follow.objects.filter(pk=follow.pk).exists()


def test_unfollowing_again_is_204_and_changes_nothing(shopper_api, shopper):
    follow = FollowFactory(shopper=shopper)
    shopper_api.delete(f"{FOLLOWS}/{follow.account.handle}")
    before = row_counts()

    response = shopper_api.delete(f"{FOLLOWS}/{follow.account.handle}")

    assert response.status_code == 204
    assert row_counts() == before


def test_unfollowing_an_unknown_handle_is_404(shopper_api, shopper):
    FollowFactory(shopper=shopper)
    before = row_counts()

    response = shopper_api.delete(f"{FOLLOWS}/nobody-here")

    assert_error(response, 404, "account_not_found")
    assert row_counts() == before


def test_unfollowing_leaves_another_shoppers_follow_of_that_account(shopper_api, shopper, other_shopper):
    # given: both shoppers follow the same account
    mine = FollowFactory(shopper=shopper)
    theirs = FollowFactory(shopper=other_shopper, account=mine.account)

    # when: the first shopper unfollows it
    shopper_api.delete(f"{FOLLOWS}/{mine.account.handle}")

    # then: the other shopper still follows it
    assert not Follow.objects.filter(pk=mine.pk).exists()
    assert Follow.objects.filter(pk=theirs.pk).exists()


def test_unfollowing_an_account_one_does_not_follow_leaves_others_follows(shopper_api, other_shopper):
    theirs = FollowFactory(shopper=other_shopper)

    response = shopper_api.delete(f"{FOLLOWS}/{theirs.account.handle}")

    assert response.status_code == 204
    assert Follow.objects.filter(pk=theirs.pk).exists()


def test_a_forged_cursor_is_400_on_the_cursor(shopper_api, shopper):
    FollowFactory(shopper=shopper)

    assert_error(shopper_api.get(FOLLOWS, {"cursor": "not-a-cursor"}), 400, "invalid_cursor", "cursor")
