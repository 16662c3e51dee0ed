"""Fans-first rollouts: who each stage reaches, the open-rate judgement, the fatigue cap."""

from datetime import timedelta

import pytest
from django.db import transaction

from storefront import tasks
from storefront.errors import RolloutNotFound
from storefront.models import InboxMessage, PushRollout, RolloutPolicy
from storefront.services.catalog import product_create, product_update
from storefront.services.inbox import inbox_open
from storefront.services.rollouts import (
    rollout_advance_by_hand,
    rollout_hold_by_hand,
    rollout_stage_send,
    rollout_start,
    rollouts_advance,
)
from tests.clock import T0
from tests.members.factories import AccountFactory, FollowFactory, MerchantFactory, ShopperFactory
from tests.storefront.factories import CategoryFactory, PreferenceFactory, ProductFactory

DAY = timedelta(days=1)


def likes(shopper, slug: str, kind: str = "category"):
    PreferenceFactory(shopper=shopper, kind=kind, slug=slug, weight=1.0, updated_at=T0)
    return shopper


def recipients(product, stage=None) -> set[str]:
    messages = InboxMessage.objects.filter(product=product)
    if stage:
        messages = messages.filter(stage=stage)
    return set(messages.values_list("shopper__display_name", flat=True))


def open_all(product, stage) -> None:
    for message in InboxMessage.objects.filter(product=product, stage=stage).select_related("shopper"):
        inbox_open(shopper=message.shopper, message_id=message.pk)


@pytest.fixture
def tea(db):
    return CategoryFactory(slug="tea")


@pytest.fixture
def fans(merchant, tea):
    """Two accounts of the merchant; fans of each kind, named for what they are."""
    brand, koe = AccountFactory(merchant=merchant), AccountFactory(merchant=merchant)

    def fan(name, account, iron, likes_slug=None):
        shopper = ShopperFactory(display_name=name)
        FollowFactory(shopper=shopper, account=account, iron_fan=iron)
        if likes_slug:
            likes(shopper, likes_slug)
        return shopper

    return {
        "iron-tea": fan("iron-tea", brand, True, "tea"),
        "iron-shoes": fan("iron-shoes", koe, True, "shoes"),
        "iron-blank": fan("iron-blank", koe, True),
        "follower-tea": fan("follower-tea", koe, False, "tea"),
        "follower-shoes": fan("follower-shoes", brand, False, "shoes"),
        "follower-blank": fan("follower-blank", brand, False),
        "public-tea": likes(ShopperFactory(display_name="public-tea"), "tea"),
        "public-shoes": likes(ShopperFactory(display_name="public-shoes"), "shoes"),
        "public-blank": ShopperFactory(display_name="public-blank"),
    }


@pytest.fixture
def product(merchant, tea):
    return ProductFactory(merchant=merchant, sku="TEA-1", category=tea, tags=["green"], published_at=T0)


def test_publishing_enqueues_the_rollout_only_when_the_publish_commits(
    merchant, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(tasks.start_rollout, "delay", lambda **kwargs: sent.append(kwargs))

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        product_create(merchant=merchant, sku="ROLLED-BACK", title="t", price=1, published=True)
        raise RuntimeError("the caller fails after the publish")
    assert sent == []

    with django_capture_on_commit_callbacks(execute=True):
        draft = product_create(merchant=merchant, sku="DRAFT", title="t", price=1)
        live = product_create(merchant=merchant, sku="LIVE", title="t", price=1, published=True)
    with django_capture_on_commit_callbacks(execute=True):
        product_update(merchant=merchant, sku="DRAFT", published=True)
        product_update(merchant=merchant, sku="LIVE", published=True)  # already published
        product_update(merchant=merchant, sku="LIVE", title="renamed")

    assert sent == [{"product_id": live.pk}, {"product_id": draft.pk}]


def test_stage_one_reaches_the_iron_fans_who_match_or_have_no_preference(fans, product, clock):
    rollout = rollout_start(product_id=product.pk)

    assert rollout.stage == "iron_fans"
    assert recipients(product) == {"iron-tea", "iron-blank"}
    assert InboxMessage.objects.filter(product=product, delivered_at=T0).count() == 2
    rollout.refresh_from_db()
    assert (rollout.sent, rollout.opened, rollout.stage_sent_at) == (2, 0, T0)


def test_stage_one_reaches_every_iron_fan_when_none_has_a_preference(merchant, product, clock):
    account = AccountFactory(merchant=merchant)
    for name in ("a", "b"):
        FollowFactory(shopper=ShopperFactory(display_name=name), account=account, iron_fan=True)
    FollowFactory(shopper=ShopperFactory(display_name="not-iron"), account=account)

    rollout_start(product_id=product.pk)

    assert recipients(product) == {"a", "b"}


def test_a_stage_run_twice_and_a_second_start_push_nothing_twice(fans, product, clock):
    rollout = rollout_start(product_id=product.pk)

    assert rollout_stage_send(rollout=rollout) == 0
    assert rollout_start(product_id=product.pk) == rollout
    assert InboxMessage.objects.filter(product=product).count() == 2
    rollout.refresh_from_db()
    assert rollout.sent == 2


def test_an_unpublished_product_is_not_pushed(merchant, fans, clock):
    draft = ProductFactory(merchant=merchant, published_at=None)

    assert rollout_start(product_id=draft.pk) is None
    assert not PushRollout.objects.exists()


def test_a_good_open_rate_moves_on_to_followers_then_the_public_pool(fans, product, clock):
    rollout_start(product_id=product.pk)
    open_all(product, "iron_fans")

    clock.now = T0 + timedelta(hours=23, minutes=59)
    assert rollouts_advance() == []  # the stage window is not over

    clock.now = T0 + DAY
    [move] = rollouts_advance()
    assert (move.from_stage, move.to_stage) == ("iron_fans", "followers")
    assert recipients(product, "followers") == {"follower-tea", "follower-blank"}

    open_all(product, "followers")
    clock.now = T0 + 2 * DAY
    [move] = rollouts_advance()
    assert (move.from_stage, move.to_stage) == ("followers", "public")
    assert recipients(product, "public") == {"public-tea"}

    open_all(product, "public")
    clock.now = T0 + 3 * DAY
    [move] = rollouts_advance()
    assert move.to_stage == "done"
    rollout = PushRollout.objects.get(product=product)
    assert (rollout.stage, rollout.sent, rollout.opened) == ("done", 5, 5)


def test_a_rate_below_the_threshold_holds_the_rollout_with_the_reason(merchant, fans, product, clock):
    RolloutPolicy.objects.create(merchant=merchant, stage_hours=6, open_rate_to_advance="0.600")
    rollout_start(product_id=product.pk)
    first = InboxMessage.objects.filter(product=product).select_related("shopper").first()
    inbox_open(shopper=first.shopper, message_id=first.pk)  # 1 of 2: 0.5

    clock.now = T0 + timedelta(hours=6)
    [move] = rollouts_advance()

    rollout = PushRollout.objects.get(product=product)
    assert (move.to_stage, rollout.stage, rollout.held_stage) == ("held", "held", "iron_fans")
    assert rollout.held_reason == "open rate 0.500 of iron_fans below 0.600 after 6 h (1 of 2 opened)"
    assert recipients(product, "followers") == set()
    clock.now = T0 + 5 * DAY
    assert rollouts_advance() == []  # held stays held


def test_staff_advance_a_held_rollout_past_the_stage_it_was_held_in_and_hold_a_running_one(
    merchant, fans, product, clock
):
    rollout = rollout_start(product_id=product.pk)
    rollout_hold_by_hand(merchant=merchant, rollout_id=rollout.pk)
    assert PushRollout.objects.get(pk=rollout.pk).held_reason == "held by staff"

    move = rollout_advance_by_hand(merchant=merchant, rollout_id=rollout.pk)

    assert (move.from_stage, move.to_stage) == ("held", "followers")
    assert recipients(product, "followers") == {"follower-tea", "follower-blank"}


def test_another_merchants_staff_cannot_move_a_rollout(merchant, other_merchant, fans, product, clock):
    rollout = rollout_start(product_id=product.pk)

    with pytest.raises(RolloutNotFound):
        rollout_advance_by_hand(merchant=other_merchant, rollout_id=rollout.pk)
    with pytest.raises(RolloutNotFound):
        rollout_hold_by_hand(merchant=other_merchant, rollout_id=rollout.pk)
    assert PushRollout.objects.get(pk=rollout.pk).stage == "iron_fans"


def test_a_stage_that_reached_nobody_moves_on_after_its_window(merchant, product, clock):
    follower = ShopperFactory(display_name="follower")
    FollowFactory(shopper=follower, account=AccountFactory(merchant=merchant))
    rollout_start(product_id=product.pk)
    assert recipients(product) == set()

    clock.now = T0 + DAY
    [move] = rollouts_advance()

    assert (move.to_stage, move.reason) == ("followers", "reached nobody")
    assert recipients(product) == {"follower"}


def test_the_daily_cap_counts_every_merchants_pushes_and_defers_the_rest_to_the_next_day(db, clock):
    # given: a shopper who is an iron fan of two merchants, each publishing two products
    shopper = ShopperFactory()
    products = []
    for _ in range(2):
        merchant = MerchantFactory()
        FollowFactory(shopper=shopper, account=AccountFactory(merchant=merchant), iron_fan=True)
        products += [ProductFactory(merchant=merchant, published_at=T0, tags=[]) for _ in range(2)]

    # when: all four start on one day
    for product in products:
        rollout_start(product_id=product.pk)

    # then: three arrive, the fourth waits
    messages = InboxMessage.objects.filter(shopper=shopper)
    assert messages.count() == 4
    assert messages.filter(delivered_at=T0).count() == 3
    deferred = messages.get(delivered_at__isnull=True)
    assert deferred.product == products[3]
    clock.now = T0 + timedelta(hours=11)
    rollouts_advance()
    assert messages.filter(delivered_at__isnull=True).count() == 1  # still the same day

    # and the next calendar day it is delivered, once
    clock.now = T0 + timedelta(hours=12, minutes=1)
    rollouts_advance()
    rollouts_advance()
    deferred.refresh_from_db()
    assert deferred.delivered_at == T0 + timedelta(hours=12, minutes=1)
    assert PushRollout.objects.get(product=products[3]).sent == 1
    assert messages.count() == 4


def test_a_stage_whose_messages_are_all_deferred_waits_before_it_is_judged(merchant, product, clock):
    shopper = ShopperFactory()
    FollowFactory(shopper=shopper, account=AccountFactory(merchant=merchant), iron_fan=True)
    for _ in range(3):  # the day's pushes are used up elsewhere
        other = ProductFactory(merchant=MerchantFactory(), published_at=T0)
        FollowFactory(shopper=shopper, account=AccountFactory(merchant=other.merchant), iron_fan=True)
        rollout_start(product_id=other.pk)
    rollout_start(product_id=product.pk)
    assert InboxMessage.objects.get(product=product).delivered_at is None

    clock.now = T0 + timedelta(hours=11)  # the window is over, the day is not
    RolloutPolicy.objects.create(merchant=merchant, stage_hours=1)

    assert rollouts_advance() == []
    assert PushRollout.objects.get(product=product).stage == "iron_fans"


def test_opening_twice_counts_once(fans, product, clock):
    rollout = rollout_start(product_id=product.pk)
    message = InboxMessage.objects.filter(product=product).first()

    inbox_open(shopper=message.shopper, message_id=message.pk)
    clock.now = T0 + timedelta(hours=1)
    again = inbox_open(shopper=message.shopper, message_id=message.pk)

    rollout.refresh_from_db()
    assert (again.opened_at, rollout.opened) == (T0, 1)
