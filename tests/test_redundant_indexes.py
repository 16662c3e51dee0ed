"""No foreign key keeps an index of its own that another index of its table makes redundant.

A single-column index on the leading column of a composite index or unique constraint
without a condition answers nothing the composite cannot; neither does the index of a
nullable key beside a partial index on that key where it is set (an equality lookup, the
only kind a foreign key gets, implies it is set). Each is one more write per row: the
tables an order writes took ten such writes an order (docs/performance.md, "Redundant
indexes on the order's tables"). ``core.migration_ops.DropForeignKeyIndex`` drops one.
"""

import pytest
from django.apps import apps
from django.db import models
from django.db.models import Q
from django.test.utils import isolate_apps

OUR_APPS = ("core", "members", "storefront", "coupons", "loyalty")
OUR_MODELS = [model for model in apps.get_models() if model._meta.app_config.name.split(".")[0] in OUR_APPS]


def covering_indexes(model) -> dict[str, str]:
    """Each column that another index can answer an equality lookup on, with that index."""
    covering = {}
    for index in model._meta.indexes:
        lead = index.fields[0].lstrip("-") if index.fields else None
        composite = index.condition is None and len(index.fields) > 1
        where_set = len(index.fields) == 1 and index.condition == Q(**{f"{lead}__isnull": False})
        if composite or where_set:
            covering[lead] = index.name
    for constraint in model._meta.constraints:
        unconditional = isinstance(constraint, models.UniqueConstraint) and constraint.condition is None
        if unconditional and len(constraint.fields) > 1:
            covering[constraint.fields[0]] = constraint.name
    return covering


def redundant_indexes(model) -> list[str]:
    covering = covering_indexes(model)
    return [
        f"{field.name} (answered by {covering[field.name]})"
        for field in model._meta.concrete_fields
        if field.db_index and not field.unique and not field.primary_key and field.name in covering
    ]


def test_our_models_are_found():
    labels = {model._meta.label for model in OUR_MODELS}
    assert {"storefront.Order", "members.Follow", "coupons.Coupon", "loyalty.MerchantDailyMetrics"} <= labels


@pytest.mark.parametrize("model", OUR_MODELS, ids=lambda m: m._meta.label)
def test_no_foreign_key_has_an_index_that_another_one_makes_redundant(model):
    assert redundant_indexes(model) == []


@isolate_apps("members")
def test_the_check_finds_them_where_they_are():
    class Target(models.Model):  # noqa: DJ008
        class Meta:
            app_label = "members"

    class Row(models.Model):  # noqa: DJ008
        lead = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="+")
        second = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="+")
        maybe = models.ForeignKey(Target, null=True, on_delete=models.SET_NULL, related_name="+")
        alone = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="+")
        kept = models.ForeignKey(Target, null=True, on_delete=models.SET_NULL, related_name="+")

        class Meta:
            app_label = "members"
            constraints = [models.UniqueConstraint(fields=["lead", "second"], name="row_lead_second")]
            indexes = [
                models.Index(fields=["maybe"], condition=Q(maybe__isnull=False), name="row_maybe"),
                # Partial on something else: it cannot answer every lookup of the key.
                models.Index(fields=["kept", "alone"], condition=Q(alone__isnull=False), name="row_kept"),
            ]

    assert redundant_indexes(Row) == ["lead (answered by row_lead_second)", "maybe (answered by row_maybe)"]
