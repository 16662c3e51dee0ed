"""The fatigue cap under two rollouts delivering to one shopper at the same moment (PostgreSQL)."""

import pytest
from django.utils import timezone

from storefront.models import InboxMessage
from storefront.services.rollouts import rollout_start
from tests.conftest import requires_postgres
from tests.members.factories import AccountFactory, FollowFactory, MerchantFactory, ShopperFactory
from tests.storefront.factories import ProductFactory
from tests.threads import all_at_once

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_two_rollouts_racing_for_a_shoppers_last_push_of_the_day_deliver_one():
    # given: a shopper with two of the day's three pushes used, iron fan of two more merchants
    shopper = ShopperFactory()
    products = []
    for _ in range(4):
        merchant = MerchantFactory()
        FollowFactory(shopper=shopper, account=AccountFactory(merchant=merchant), iron_fan=True)
        products.append(ProductFactory(merchant=merchant, tags=[], published_at=timezone.now()))
    for product in products[:2]:
        rollout_start(product_id=product.pk)

    # when: the other two start at once
    results = all_at_once([lambda p=p: rollout_start(product_id=p.pk) for p in products[2:]])

    # then: both wrote their message, and only one of them was delivered today
    assert not [r for r in results if isinstance(r, Exception)], results
    messages = InboxMessage.objects.filter(shopper=shopper)
    assert messages.count() == 4
    assert messages.filter(delivered_at__isnull=False).count() == 3
