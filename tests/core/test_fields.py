"""Input fields bounded by their columns (core.fields), and a guard over every API input."""

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from rest_framework import serializers

from core.fields import AwareDateTimeField, MoneyField, column_range, model_field
from coupons.models import CouponTemplate
from loyalty.models import PointsAccount, Program
from members.models import Tier
from storefront.models import Order, Product

# --- column_range and model_field ------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "name", "expected"),
    [
        (CouponTemplate, "stock", (0, 2**31 - 1)),
        (Tier, "rank", (0, 2**15 - 1)),
        (PointsAccount, "balance", (-(2**63), 2**63 - 1)),
        (CouponTemplate, "id", (1, 2**63 - 1)),
        (Program, "repurchase_template", (1, 2**63 - 1)),
        (Order, "subtotal", (Decimal("-9999999999.99"), Decimal("9999999999.99"))),
        # the model's MinValueValidator tightens the column's range
        (Product, "price", (Decimal("0"), Decimal("9999999999.99"))),
        (Program, "points_per_unit", (Decimal("0"), Decimal("999999.99"))),
    ],
)
def test_the_range_is_what_the_column_holds(model, name, expected):
    assert column_range(model._meta.get_field(name)) == expected


def test_model_field_takes_the_bounds_that_drf_spectacular_shows():
    field = model_field(CouponTemplate, "stock", required=False)

    assert (type(field), field.min_value, field.max_value) == (serializers.IntegerField, 0, 2**31 - 1)


def test_model_field_of_a_decimal_is_money_with_the_columns_digits():
    field = model_field(Order, "subtotal")

    assert isinstance(field, MoneyField)
    assert (field.max_digits, field.decimal_places, field.max_value) == (12, 2, Decimal("9999999999.99"))


def test_model_field_of_text_takes_the_columns_length():
    assert model_field(Product, "title").max_length == 200


def test_a_business_limit_may_narrow_the_column_but_never_widen_it():
    assert model_field(CouponTemplate, "valid_days", max_value=3650).max_value == 3650
    with pytest.raises(ImproperlyConfigured, match="beyond what the column holds"):
        model_field(Tier, "rank", max_value=2**31)


# --- Every input of the API ------------------------------------------------------------------


def _request_serializers():
    generator = SchemaGenerator()
    for path, _, method, callback in EndpointEnumerator().get_api_endpoints():
        view = generator.create_view(callback, method)
        serializer = view.schema.get_request_serializer()
        candidates = [serializer] if serializer is not None else []
        view_class = callback.cls
        candidates += [getattr(view_class, "FilterSerializer", None)]
        for candidate in candidates:
            if candidate is None:
                continue
            instance = candidate() if isinstance(candidate, type) else candidate
            yield f"{method} {path}", instance


def _fields(serializer, prefix=""):
    for name, field in serializer.fields.items():
        yield f"{prefix}{name}", field
        if isinstance(field, serializers.ListField):
            child = field.child
            yield f"{prefix}{name}[]", child
            if isinstance(child, serializers.Serializer):
                yield from _fields(child, f"{prefix}{name}[].")
        elif isinstance(field, serializers.Serializer):
            yield from _fields(field, f"{prefix}{name}.")


def _unbounded(field) -> str | None:
    if isinstance(field, (serializers.IntegerField, serializers.DecimalField)):
        if field.min_value is None or field.max_value is None:
            return "a number without min_value and max_value"
    elif isinstance(field, serializers.ChoiceField):
        return None
    elif isinstance(field, serializers.CharField):
        if field.max_length is None:
            return "text without max_length"
    elif isinstance(field, serializers.DateTimeField):
        if not isinstance(field, AwareDateTimeField):
            return "a time that does not require its zone"
    elif isinstance(field, serializers.ListField) and field.max_length is None:
        return "a list without max_length"
    return None


INPUTS = list(_request_serializers())


def test_the_guard_sees_the_inputs_of_the_api():
    operations = {operation for operation, _ in INPUTS}
    assert {"POST /api/v1/merchant/orders", "POST /api/v1/merchant/coupon-templates"} <= operations
    assert "GET /api/v1/merchant/members" in operations  # a FilterSerializer


@pytest.mark.parametrize(("operation", "serializer"), INPUTS, ids=[op for op, _ in INPUTS])
def test_every_input_field_of_the_api_is_bounded(operation, serializer):
    problems = {name: why for name, field in _fields(serializer) if (why := _unbounded(field))}

    assert problems == {}, f"{operation}: bound these through core.fields.model_field: {problems}"
