"""``core.api.money_text`` and ``moment_text`` give the text DRF's fields give."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone as django_timezone
from rest_framework import serializers

from core.api import moment_text, money_text

MONEY_FIELD = serializers.DecimalField(max_digits=12, decimal_places=2)


@pytest.mark.parametrize(
    "amount",
    [Decimal("0"), Decimal("0.00"), Decimal("12.3"), Decimal("12.30"), Decimal("1234567890.99"),
     Decimal("0.005"), Decimal("0.015"), Decimal("5E+2"), Decimal("-3.10"), 7, 7.25, "8.5"],
)  # fmt: skip
def test_money_text_is_the_decimal_fields_text(amount):
    assert money_text(amount) == MONEY_FIELD.to_representation(amount)


def test_money_text_keeps_none():
    assert money_text(None) is None


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 12, 0, 0, 250, tzinfo=UTC),
        datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 7, 1, 1, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
    ],
)
@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/New_York"])
def test_moment_text_is_the_datetime_fields_text(moment, zone):
    with django_timezone.override(ZoneInfo(zone)):
        expected = serializers.DateTimeField().to_representation(moment)
        assert moment_text(moment, django_timezone.get_current_timezone()) == expected


def test_moment_text_keeps_none():
    assert moment_text(None, UTC) is None
