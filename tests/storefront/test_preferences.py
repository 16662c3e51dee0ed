"""Preferences: fed by purchases and engagement, decayed with a half-life, shown normalised."""

from datetime import timedelta

import pytest

from loyalty.services.purchases import purchase_record
from storefront import affinity
from storefront.models import Order, Preference
from storefront.services.preferences import (
    Interest,
    preferences_add,
    preferences_fold_orders,
    preferences_from_engagement,
)
from tests.clock import T0
from tests.conftest import row_counts
from tests.loyalty.conftest import order_input
from tests.storefront.factories import CategoryFactory, PreferenceFactory, ProductFactory

PREFERENCES = "/api/v1/me/preferences"
HALF_LIFE = affinity.HALF_LIFE


def weights(shopper) -> dict[tuple[str, str], tuple[float, object]]:
    return {(p.kind, p.slug): (p.weight, p.updated_at) for p in Preference.objects.filter(shopper=shopper)}


def test_a_purchase_adds_the_purchase_weight_to_each_lines_category_and_tags_in_its_transaction(
    merchant, shopper, clock
):
    ProductFactory(merchant=merchant, sku="S0", category=CategoryFactory(slug="tea"), tags=["green", "loose"])
    ProductFactory(merchant=merchant, sku="S1", category=CategoryFactory(slug="cups"), tags=["green"])

    purchase_record(
        merchant=merchant,
        order=order_input(shopper.external_id, lines=[("S0", 5, "4.00"), ("S1", 1, "9.00")], paid_at=T0),
    )
    # written by the order itself: the backfill finds nothing to fold
    assert preferences_fold_orders() == 0

    # a line counts once whatever its quantity; "green" is on both lines
    assert weights(shopper) == {
        ("category", "tea"): (3.0, T0),
        ("category", "cups"): (3.0, T0),
        ("tag", "green"): (6.0, T0),
        ("tag", "loose"): (3.0, T0),
    }


def test_a_later_purchase_adds_to_the_weight_decayed_by_the_half_life(merchant, shopper, clock):
    ProductFactory(merchant=merchant, sku="S0", category=CategoryFactory(slug="tea"), tags=[])
    purchase_record(
        merchant=merchant, order=order_input(shopper.external_id, "o-1", lines=[("S0", 1, "4")], paid_at=T0)
    )

    later = clock.now = T0 + HALF_LIFE
    purchase_record(
        merchant=merchant,
        order=order_input(shopper.external_id, "o-2", lines=[("S0", 1, "4")], paid_at=later),
    )

    # 3 halved over one half-life, plus 3
    weight, at = weights(shopper)[("category", "tea")]
    assert weight == pytest.approx(4.5)
    assert at == later


def test_the_backfill_folds_orders_from_before_the_pipeline_once_decaying_from_paid_at(
    merchant, shopper, clock
):
    # given: an order recorded before preferences moved into the pipeline (none written,
    # preferences_at null)
    ProductFactory(merchant=merchant, sku="S0", category=CategoryFactory(slug="tea"), tags=[])
    purchase_record(merchant=merchant, order=order_input(shopper.external_id, "o-1", lines=[("S0", 1, "4")]))
    Preference.objects.all().delete()
    Order.objects.update(preferences_at=None)
    clock.now = T0 + HALF_LIFE  # the backfill runs a half-life after the order

    # when: run twice
    assert preferences_fold_orders() == 1
    assert preferences_fold_orders() == 0

    # then
    weight, at = weights(shopper)[("category", "tea")]
    assert (weight, at) == (3.0, T0)
    assert Order.objects.get().preferences_at == T0 + HALF_LIFE


def test_an_older_interest_arriving_late_is_decayed_to_the_stored_time(shopper):
    preferences_add(interests=[Interest(shopper.pk, "tag", "green", 2.0, T0 + 2 * HALF_LIFE)])

    preferences_add(interests=[Interest(shopper.pk, "tag", "green", 4.0, T0)])

    # 4 recorded two half-lives before the stored 2: 2 + 4 / 4, still at the later time
    weight, at = weights(shopper)[("tag", "green")]
    assert weight == pytest.approx(3.0)
    assert at == T0 + 2 * HALF_LIFE


def test_interests_with_one_key_in_one_batch_are_folded_before_the_upsert(shopper):
    preferences_add(
        interests=[
            Interest(shopper.pk, "tag", "green", 1.0, T0),
            Interest(shopper.pk, "tag", "green", 1.0, T0 + HALF_LIFE),
        ]
    )

    weight, at = weights(shopper)[("tag", "green")]
    assert weight == pytest.approx(1.5)
    assert at == T0 + HALF_LIFE


def test_engagement_naming_a_sku_adds_its_kinds_weight_times_quantity(merchant, other_merchant, shopper):
    ProductFactory(merchant=merchant, sku="S0", category=CategoryFactory(slug="tea"), tags=["green"])
    ProductFactory(merchant=other_merchant, sku="S9", category=CategoryFactory(slug="shoes"), tags=[])

    preferences_from_engagement(
        merchant_id=merchant.pk,
        events=[
            (shopper.pk, "S0", "share", 2, T0),  # 2 x 1.0
            (shopper.pk, "S0", "like", 1, T0),  # 0.5
            (shopper.pk, "S0", "purchase", 1, T0),  # counted by the order, not here
            (shopper.pk, "S9", "share", 1, T0),  # another merchant's sku: not this merchant's product
            (shopper.pk, "", "view", 1, T0),  # no sku
        ],
    )

    assert weights(shopper) == {("category", "tea"): (2.5, T0), ("tag", "green"): (2.5, T0)}


def test_my_preferences_are_the_top_affinities_decayed_to_now_and_summing_to_one(
    shopper, shopper_api, clock, django_assert_max_num_queries
):
    clock.now = T0
    PreferenceFactory(shopper=shopper, kind="category", slug="tea", weight=4.5, updated_at=T0)
    PreferenceFactory(shopper=shopper, kind="tag", slug="green", weight=3.0, updated_at=T0 - HALF_LIFE)
    PreferenceFactory(shopper=shopper, kind="tag", slug="gone", weight=0.0, updated_at=T0)

    # the token, and the preferences
    with django_assert_max_num_queries(3):
        response = shopper_api.get(PREFERENCES)

    assert response.status_code == 200
    body = response.json()
    # 4.5 and 3 halved: 4.5 / 6 and 1.5 / 6; a weight decayed to nothing is not shown
    assert [(p["kind"], p["slug"]) for p in body["preferences"]] == [("category", "tea"), ("tag", "green")]
    assert [p["weight"] for p in body["preferences"]] == [pytest.approx(0.75), pytest.approx(0.25)]
    assert body["half_life_days"] == 30


def test_my_preferences_show_only_the_strongest_twenty(shopper, shopper_api, clock):
    for n in range(affinity.SHOWN + 5):
        PreferenceFactory(shopper=shopper, kind="tag", slug=f"t{n:02}", weight=float(n + 1), updated_at=T0)

    body = shopper_api.get(PREFERENCES).json()

    assert len(body["preferences"]) == affinity.SHOWN
    assert body["preferences"][0]["slug"] == "t24"
    assert sum(p["weight"] for p in body["preferences"]) == pytest.approx(1.0)


def test_another_shoppers_preferences_are_not_mine(shopper, other_shopper_api, clock):
    PreferenceFactory(shopper=shopper, slug="tea", updated_at=T0)

    assert other_shopper_api.get(PREFERENCES).json()["preferences"] == []


def test_my_preferences_need_a_shopper_token(api, merchant_api):
    before = row_counts()

    assert api.get(PREFERENCES).status_code == 401
    assert merchant_api.get(PREFERENCES).status_code == 401
    assert row_counts() == before


def test_decay_is_exponential_with_the_documented_half_life():
    assert affinity.decayed(8.0, since=T0, now=T0 + 3 * HALF_LIFE) == pytest.approx(1.0)
    assert affinity.decayed(8.0, since=T0, now=T0 - timedelta(days=1)) == 8.0
