"""What the schema fuzz found, kept as plain tests (each fixed where it was wrong).

1. A campaign audience with an unknown key that cannot be named ``audience.<key>``
   (the empty key, a key with a dot) was reported on ``audience.`` / ``audience.a.b``,
   which the schema's attr pattern (``^audience\\.[^.]+$``) does not allow. Now such a
   key is reported on ``audience`` (coupons/audiences.py).
2. The fan policy's ``weights`` object took any key in the schema, but the server
   refuses keys that are not engagement kinds: the schema now says
   ``additionalProperties: false`` (loyalty/apis/program.py).
3. (The stateful fuzz.) A text field of only a separator control character (U+001E)
   was refused as ``blank``, a shape the schema allows: Python's ``strip()`` takes
   U+001C-U+001F, so the trim emptied it before the control-character check ran. Text
   fields now check for control characters first (core/fields.py, ``TextField``).
"""

import json
import re

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from coupons.models import Campaign
from tests.conftest import assert_error, row_counts
from tests.coupons.factories import CampaignFactory

ATTR_PATTERN = re.compile(r"^audience\.[^.]+$")


def _schema() -> dict:
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


@pytest.mark.parametrize(
    ("audience", "attr"),
    [({"": True}, "audience"), ({"a.b": True}, "audience"), ({"vip": True}, "audience.vip")],
    ids=["empty key", "dotted key", "plain key"],
)
def test_an_unknown_audience_key_is_reported_where_the_schema_says(merchant, merchant_api, audience, attr):
    campaign = CampaignFactory(merchant=merchant)
    before = row_counts()
    stored = Campaign.objects.values().get(pk=campaign.pk)

    response = merchant_api.patch(
        f"/api/v1/merchant/campaigns/{campaign.pk}", {"audience": audience}, format="json"
    )

    assert_error(response, 400, "invalid_audience", attr)
    assert attr == "audience" or ATTR_PATTERN.match(attr)
    assert row_counts() == before
    assert Campaign.objects.values().get(pk=campaign.pk) == stored


def test_the_schema_says_fan_policy_weights_take_only_the_engagement_kinds(db):
    weights = _schema()["components"]["schemas"]["FanPolicyInput"]["properties"]["weights"]

    assert weights["additionalProperties"] is False
    assert set(weights["properties"]) == {"view", "like", "comment", "share", "live_watch", "purchase"}


def test_a_weight_of_another_kind_is_refused_and_nothing_changes(merchant, merchant_api):
    merchant_api.get("/api/v1/merchant/program")  # the program exists
    before = row_counts()
    program = merchant_api.get("/api/v1/merchant/program").json()

    response = merchant_api.patch(
        "/api/v1/merchant/program", {"fan_policy": {"weights": {"": 1, "like": 2}}}, format="json"
    )

    assert_error(response, 400, "invalid", "fan_policy.weights")
    assert row_counts() == before
    assert merchant_api.get("/api/v1/merchant/program").json() == program


@pytest.mark.parametrize("sku", ["\u001e", "\u001c\u001f", " \u001d "], ids=["RS", "FS-US", "padded GS"])
def test_a_text_of_separator_controls_only_is_refused_for_them_not_as_blank(merchant_api, shopper, sku):
    from tests.loyalty.conftest import ORDERS, order_body

    body = order_body(shopper.external_id)
    body["lines"][0]["sku"] = sku
    before = row_counts()

    response = merchant_api.post(ORDERS, body, format="json")

    assert_error(response, 400, "control_characters_not_allowed", "lines.0.sku")
    assert row_counts() == before
