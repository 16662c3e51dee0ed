"""The rollout admin: stage, sent, opened, rate per product, and the manual advance and hold."""

from django.contrib.admin import helpers

from storefront.models import PushRollout
from storefront.services.rollouts import rollout_start
from tests.clock import T0
from tests.conftest import staff_client
from tests.members.factories import AccountFactory, FollowFactory, ShopperFactory
from tests.storefront.factories import ProductFactory

ROLLOUTS = "/admin/storefront/pushrollout/"


def messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def act(client, action: str, rollouts):
    data = {"action": action, helpers.ACTION_CHECKBOX_NAME: [r.pk for r in rollouts]}
    return client.post(ROLLOUTS, data, follow=True)


def started(merchant, sku: str) -> PushRollout:
    product = ProductFactory(merchant=merchant, sku=sku, published_at=T0, tags=[])
    return rollout_start(product_id=product.pk)


def test_the_list_shows_stage_sent_opened_and_rate(merchant, clock):
    account = AccountFactory(merchant=merchant)
    for _ in range(4):
        FollowFactory(shopper=ShopperFactory(), account=account, iron_fan=True)
    rollout = started(merchant, "NEW-1")
    PushRollout.objects.filter(pk=rollout.pk).update(opened=1)

    response = staff_client(merchant).get(ROLLOUTS)

    assert response.status_code == 200
    html = response.content.decode()
    assert "NEW-1" in html and "iron_fans" in html and "25.0%" in html


def test_staff_hold_then_advance_their_rollouts_by_hand(merchant, other_merchant, clock):
    mine, theirs = started(merchant, "MINE"), started(other_merchant, "THEIRS")
    client = staff_client(merchant)

    held = act(client, "hold", [mine, theirs])
    assert messages(held) == ["Held 1 rollouts."]
    assert PushRollout.objects.get(pk=mine.pk).stage == "held"

    advanced = act(client, "advance", [mine, theirs])
    assert messages(advanced) == ["Advanced 1 rollouts."]
    assert dict(PushRollout.objects.values_list("pk", "stage")) == {
        mine.pk: "followers",
        theirs.pk: "iron_fans",
    }


def test_a_rollout_that_cannot_move_is_named_and_left_alone(merchant, clock):
    done = started(merchant, "DONE")
    PushRollout.objects.filter(pk=done.pk).update(stage="done")

    response = act(staff_client(merchant), "advance", [done])

    assert messages(response) == [
        "Advanced 0 rollouts.",
        "Not moved: DONE: This rollout is done; there is no stage after it.",
    ]
    assert PushRollout.objects.get(pk=done.pk).stage == "done"
