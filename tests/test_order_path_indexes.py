"""The tables every order writes carry no index that another of their indexes makes redundant.

An order inserts into each of these (the order, its lines, the points entry, the purchase
stats, the preferences, the engagement score and event): every index is one more write per
row. A single-column index on the leading column of a composite index or unique constraint
without a condition answers nothing the composite cannot (docs/performance.md, "Redundant
indexes on the order's tables").
"""

import pytest
from django.db import models

from loyalty.models import PointsEntry
from members.engagement.models import EngagementEvent, EngagementScore
from members.models import Follow
from storefront.models import Order, OrderLine, Preference, PurchaseStat

ORDER_WRITES = [Order, OrderLine, PointsEntry, PurchaseStat, Preference, EngagementScore, EngagementEvent]


def leading_columns(model) -> dict[str, str]:
    """The first field of each unconditional index or unique constraint of several fields."""
    leads = {}
    for index in model._meta.indexes:
        if index.condition is None and len(index.fields) > 1:
            leads[index.fields[0].lstrip("-")] = index.name
    for constraint in model._meta.constraints:
        unconditional = isinstance(constraint, models.UniqueConstraint) and constraint.condition is None
        if unconditional and len(constraint.fields) > 1:
            leads[constraint.fields[0]] = constraint.name
    return leads


def redundant_indexes(model) -> list[str]:
    leads = leading_columns(model)
    return [
        f"{field.name} (led by {leads[field.name]})"
        for field in model._meta.concrete_fields
        if field.db_index and not field.unique and not field.primary_key and field.name in leads
    ]


@pytest.mark.parametrize("model", ORDER_WRITES, ids=lambda m: m._meta.label)
def test_no_field_has_an_index_that_a_composite_one_already_leads_with(model):
    assert redundant_indexes(model) == []


def test_the_check_finds_one_where_there_is_one():
    # Follows are not written by orders and keep theirs (a cleanup of its own): the
    # shopper's index beside follow_unique_shopper_account, the account's beside
    # follow_account_iron_fan
    assert redundant_indexes(Follow) == [
        "shopper (led by follow_unique_shopper_account)",
        "account (led by follow_account_iron_fan)",
    ]
