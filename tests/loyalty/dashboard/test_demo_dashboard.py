"""`make run`'s demo: a newcomer logged in as the demo staff sees every chart with data."""

import pytest
from django.core.management import call_command
from django.test import Client

from loyalty.dashboard.charts import CHARTS
from loyalty.dashboard.models import MerchantDailyMetrics
from loyalty.demo import DEMO_PASSWORD, HISTORY_DAYS
from members.models import Merchant

pytestmark = pytest.mark.django_db


def test_the_demo_staff_sees_every_chart_with_data():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    merchant = Merchant.objects.get(slug="acme-beauty")
    assert MerchantDailyMetrics.objects.filter(merchant=merchant).count() == HISTORY_DAYS
    client = Client()
    assert client.login(username="acme-beauty-staff", password=DEMO_PASSWORD)

    empty = [name for name in CHARTS if client.get(f"/admin/dashboard/charts/{name}/").json()["empty"]]

    assert empty == []
    ratio = client.get("/admin/dashboard/charts/iron-fan-ratio/").json()["data"]
    assert len(ratio["labels"]) == HISTORY_DAYS
    # The ratio has a past: it was not the same on every day.
    assert len({value for series in ratio["series"] for value in series["data"]}) > 2
