"""A Python client generated from the schema drives a merchant's and a shopper's journey
against a live server: what a shop system built from /api/schema/ meets.

The client is generated at test time (openapi-python-client, pinned in the dev extra)
into a temporary folder, so it always matches the schema of the code under test.
"""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from tests.members.factories import MerchantAPIKeyFactory, MerchantFactory

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "fanbase_client"


@pytest.fixture(scope="module")
def client_package(tmp_path_factory):
    """The generated client package, imported from a temporary folder."""
    folder = tmp_path_factory.mktemp("generated")
    schema = folder / "schema.json"
    schema.write_bytes(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    config = folder / "config.yaml"
    config.write_text(f"post_hooks: []\npackage_name_override: {PACKAGE}\n")
    done = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(schema),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(folder / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


class api:
    """A tag's package of the generated client, importing each operation's module on use."""

    def __init__(self, tag: str):
        self.tag = tag

    def __getattr__(self, operation: str):
        return importlib.import_module(f"{PACKAGE}.api.{self.tag}.{operation}")


@pytest.mark.django_db(transaction=True)
def test_a_merchant_and_a_shopper_go_through_the_generated_client(client_package, live_server):
    models = importlib.import_module(f"{PACKAGE}.models")
    merchant = MerchantFactory(slug="acme-beauty", name="Acme Beauty")
    shop = client_package.AuthenticatedClient(
        base_url=live_server.url, token=MerchantAPIKeyFactory(merchant=merchant).plain_key, prefix="Api-Key"
    )
    public = client_package.Client(base_url=live_server.url)
    catalog, coupons, merchant_api, orders = (
        api("merchant_catalog"),
        api("merchant_coupons"),
        api("merchant"),
        api("merchant_orders"),
    )

    # The merchant sets up a catalog, a tier, a welcome coupon and its program.
    made = catalog.merchant_products_create.sync_detailed(
        client=shop,
        body=models.ProductListCreateInput(
            sku="LIP-01", title="Velvet lipstick", price="89.00", category="makeup"
        ),
    )
    assert made.status_code == 201, made.content
    tier = merchant_api.merchant_tiers_create.sync(
        client=shop, body=models.TierListCreateInput(name="Fan", rank=1, min_spend_12m="0.00")
    )
    assert isinstance(tier, models.TierOutput)
    welcome = coupons.merchant_coupon_templates_create.sync(
        client=shop,
        body=models.CouponTemplateListCreateInput(
            name="Welcome",
            kind=models.CouponTemplateListCreateInputKindEnum.FIXED,
            value="10.00",
            valid_days=30,
        ),
    )
    assert isinstance(welcome, models.TemplateWithProductsOutput), welcome
    program = merchant_api.merchant_program_partial_update.sync(
        client=shop, body=models.PatchedProgramInput(join_coupon_template=welcome.id, join_bonus_points=50)
    )
    assert program.join_coupon_template == welcome.id
    listed = catalog.merchant_products_list.sync(client=shop, sku_prefix="LIP-")
    assert [p.sku for p in listed.results] == ["LIP-01"] and listed.next_ is None

    # A shopper registers, joins and finds the welcome coupon in the wallet.
    registered = api("shopper_auth").auth_register_create.sync(
        client=public, body=models.CredentialsInput(username="douyin-4471", password="a long passphrase")
    )
    me = client_package.AuthenticatedClient(base_url=live_server.url, token=registered.token, prefix="Token")
    shopper = api("shopper")
    joined = shopper.me_memberships_create.sync_detailed(
        client=me, body=models.MembershipListJoinInput(merchant="acme-beauty")
    )
    assert joined.status_code == 201
    [card] = shopper.me_wallet_retrieve.sync(client=me).memberships
    assert (card.points_balance, card.usable_coupons, card.tier) == (50, 1, "Fan")
    [coupon] = shopper.me_coupons_list.sync(client=me, state=models.MeCouponsListState.USABLE).results
    assert coupon.usable is True

    # The shop system records the order with the coupon; a retry answers the same.
    body = models.OrderListCreateInput(
        external_id="A-1001",
        shopper="douyin-4471",
        lines=[models.OrderLineInput(sku="LIP-01", quantity=2, unit_price="89.00")],
        coupon_codes=[coupon.code],
    )
    first = orders.merchant_orders_create.sync_detailed(client=shop, body=body)
    again = orders.merchant_orders_create.sync_detailed(client=shop, body=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.parsed == again.parsed
    assert (first.parsed.total, first.parsed.points_earned) == ("168.00", 168)

    # ... and reads back what it wrote, and the member view.
    order = orders.merchant_orders_retrieve.sync(client=shop, external_id="A-1001")
    assert [(line.sku, line.quantity) for line in order.lines] == [("LIP-01", 2)]
    assert order.coupons_redeemed == [coupon.code]
    member = merchant_api.merchant_shoppers_retrieve.sync(client=shop, external_id="douyin-4471")
    assert (member.membership.number, member.points.balance) == (1, 218)

    # Refused input comes back as the declared error model, with its stable code.
    conflict = orders.merchant_orders_create.sync_detailed(
        client=shop,
        body=models.OrderListCreateInput(external_id="A-1001", shopper="douyin-4471", lines=body.lines),
    )
    assert conflict.status_code == 409
    assert conflict.parsed.errors[0].code.value == "order_conflict"
