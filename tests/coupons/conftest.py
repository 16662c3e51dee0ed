"""The coupons tests' world: a merchant's template and a member to issue it to."""

import pytest

from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MembershipFactory


@pytest.fixture
def template(merchant):
    """5.00 off anything, valid 30 days from issue, one unused per member, unlimited stock."""
    return CouponTemplateFactory(merchant=merchant)


@pytest.fixture
def membership(merchant, shopper):
    """``shopper`` as an active member of ``merchant``."""
    return MembershipFactory(merchant=merchant, shopper=shopper)
