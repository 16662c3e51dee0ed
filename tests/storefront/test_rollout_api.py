"""GET /api/v1/merchant/products/{sku}/rollout: stage, sent and opened per stage, rate, why held."""

from datetime import timedelta

from storefront.models import RolloutPolicy
from storefront.services.inbox import inbox_open
from storefront.services.rollouts import rollout_start, rollouts_advance
from tests.clock import T0
from tests.conftest import assert_error
from tests.members.factories import AccountFactory, FollowFactory, ShopperFactory
from tests.storefront.factories import ProductFactory

# The API key, the rollout with its product, the counts per stage.
ROLLOUT_QUERIES = 3


def url(sku: str) -> str:
    return f"/api/v1/merchant/products/{sku}/rollout"


def test_the_rollout_shows_each_stages_counts_and_why_it_is_held(
    merchant, merchant_api, clock, django_assert_num_queries
):
    # given: three iron fans and one follower; two of the fans open, then the followers don't
    RolloutPolicy.objects.create(merchant=merchant, open_rate_to_advance="0.500")
    account = AccountFactory(merchant=merchant)
    fans = [ShopperFactory() for _ in range(3)]
    for fan in fans:
        FollowFactory(shopper=fan, account=account, iron_fan=True)
    FollowFactory(shopper=ShopperFactory(), account=account)
    product = ProductFactory(merchant=merchant, sku="NEW-1", published_at=T0, tags=[])
    rollout_start(product_id=product.pk)
    for message in product.rollout.messages.all()[:2]:
        inbox_open(shopper=message.shopper, message_id=message.pk)
    clock.now = T0 + timedelta(days=1)
    rollouts_advance()
    clock.now = T0 + timedelta(days=2)
    rollouts_advance()

    with django_assert_num_queries(ROLLOUT_QUERIES):
        response = merchant_api.get(url("NEW-1"))

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("sku", "stage", "sent", "opened", "open_rate", "held_stage")} == {
        "sku": "NEW-1",
        "stage": "held",
        "sent": 4,
        "opened": 2,
        "open_rate": "0.000",
        "held_stage": "followers",
    }
    assert body["held_reason"] == "open rate 0.000 of followers below 0.500 after 24 h (0 of 1 opened)"
    assert body["stages"] == [
        {"stage": "iron_fans", "sent": 3, "opened": 2, "deferred": 0, "open_rate": "0.667"},
        {"stage": "followers", "sent": 1, "opened": 0, "deferred": 0, "open_rate": "0.000"},
    ]


def test_a_product_never_published_has_no_rollout(merchant, merchant_api):
    ProductFactory(merchant=merchant, sku="DRAFT")

    assert_error(merchant_api.get(url("DRAFT")), 404, "rollout_not_found")
    assert_error(merchant_api.get(url("NOPE")), 404, "product_not_found")


def test_another_merchants_rollout_is_not_found(merchant, other_merchant_api, clock):
    product = ProductFactory(merchant=merchant, sku="MINE", published_at=T0)
    rollout_start(product_id=product.pk)

    assert_error(other_merchant_api.get(url("MINE")), 404, "product_not_found")


def test_the_rollout_needs_a_merchant_key(api, shopper_api, merchant):
    assert api.get(url("X")).status_code == 401
    assert shopper_api.get(url("X")).status_code == 401
