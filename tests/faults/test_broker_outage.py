"""Redis stops while orders arrive: the orders land (the database is the source of truth)
and every task an effect wrote to the outbox reaches a worker once Redis is back.

Real processes: a redis-server of the test's own (stopped and started again on the same
port), gunicorn and a Celery worker with its embedded beat (the outbox relay), on the
test database.
"""

from decimal import Decimal

import pytest
from django.db import connection

from core.models import OutboxMessage
from coupons.models import CampaignRun
from loyalty.services.memberships import membership_enrol
from members.fan_counts import fan_counts_recount
from members.models import Follow, Shopper
from storefront.models import Order, Product, PushRollout
from tests.coupons.factories import CouponTemplateFactory
from tests.faults.processes import (
    Redis,
    call,
    celery_worker,
    database_url_of,
    gunicorn,
    service_env,
    stop,
    wait_for,
)
from tests.loyalty.factories import ProgramFactory
from tests.members.factories import AccountFactory, MerchantAPIKeyFactory, MerchantFactory
from tests.storefront.factories import ProductFactory

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): real web and worker processes on one database",
    ),
    pytest.mark.django_db(transaction=True),
]

ORDERS = 12


@pytest.fixture
def world():
    merchant = MerchantFactory()
    ProgramFactory(merchant=merchant, points_per_unit=Decimal("1"), join_bonus_points=0)
    ProductFactory(merchant=merchant, sku="S0", price=Decimal("10.00"))
    for i in range(2):
        ProductFactory(merchant=merchant, sku=f"NEW-{i}", price=Decimal("5.00"), published_at=None)
    account = AccountFactory(merchant=merchant)
    shoppers = Shopper.objects.bulk_create(Shopper(external_id=f"outage-{i}") for i in range(ORDERS))
    for shopper in shoppers:
        membership_enrol(shopper=shopper, merchant=merchant)
    Follow.objects.bulk_create(Follow(shopper=s, account=account) for s in shoppers)
    fan_counts_recount(account_ids=[account.pk])
    template = CouponTemplateFactory(merchant=merchant)
    key = MerchantAPIKeyFactory(merchant=merchant).plain_key
    return {"merchant": merchant, "account": account, "template": template, "shoppers": shoppers, "key": key}


@pytest.fixture
def services(tmp_path):
    redis = Redis(tmp_path).start()
    env = service_env(
        database_url=database_url_of(connection.settings_dict),
        broker_url=f"{redis.url}/0",
        var=tmp_path / "var",
    )
    web = worker = None
    try:
        web, port = gunicorn(env, tmp_path)
        worker = celery_worker(env, tmp_path, beat=True)
        yield {"redis": redis, "port": port}
    finally:
        for log in ("gunicorn.log", "worker.log"):
            if (tmp_path / log).exists():
                print(f"--- {log}\n{(tmp_path / log).read_text()[-4000:]}")  # shown when the test fails
        stop(worker)
        stop(web)
        redis.stop()
        connection.close()


def test_orders_land_while_redis_is_down_and_every_outbox_task_is_delivered_when_it_is_back(world, services):
    port, redis = services["port"], services["redis"]
    auth = {"Authorization": f"Api-Key {world['key']}"}
    assert call(port, "GET", "/healthz")[0] == 200

    redis.stop()
    assert call(port, "GET", "/healthz")[0] == 503

    for i, shopper in enumerate(world["shoppers"]):
        body = {
            "external_id": f"outage-order-{i}",
            "shopper": shopper.external_id,
            "lines": [{"sku": "S0", "quantity": 1, "unit_price": "10.00"}],
            "coupon_codes": [],
        }
        status, answer = call(port, "POST", "/api/v1/merchant/orders", body, auth)
        assert status == 201, answer
    # Effects that need the broker: a publish starts a rollout, a campaign run starts.
    for sku in ("NEW-0", "NEW-1"):
        status, answer = call(port, "PATCH", f"/api/v1/merchant/products/{sku}", {"published": True}, auth)
        assert status == 200, answer
    status, campaign = call(
        port,
        "POST",
        "/api/v1/merchant/campaigns",
        {
            "name": "Fans",
            "template": world["template"].pk,
            "audience": {"followers_of": world["account"].handle},
        },
        auth,
    )
    assert status == 201, campaign
    status, accepted = call(port, "POST", f"/api/v1/merchant/campaigns/{campaign['id']}/run", None, auth)
    assert status == 202, accepted

    assert Order.objects.filter(merchant=world["merchant"]).count() == ORDERS
    waiting = OutboxMessage.objects.filter(sent_at__isnull=True)
    assert sorted(waiting.values_list("task", flat=True)) == [
        "coupons.campaign_run_start",
        "storefront.start_rollout",
        "storefront.start_rollout",
    ]
    assert all(m.attempts >= 1 and m.last_error for m in waiting)  # the fast path tried and failed

    redis.start()  # same port: the worker and beat reconnect on their own

    run = CampaignRun.objects.get(pk=accepted["run"])
    wait_for(
        lambda: not OutboxMessage.objects.filter(sent_at__isnull=True).exists(),
        timeout=90,
        what="the outbox to drain",
    )
    wait_for(
        lambda: PushRollout.objects.filter(product__sku__startswith="NEW-").count() == 2, what="both rollouts"
    )
    wait_for(lambda: run.refresh_from_db() or run.status == "done", timeout=60, what="the campaign run")
    assert run.issued == ORDERS
    assert Product.objects.filter(sku__startswith="NEW-", published_at__isnull=False).count() == 2
    assert call(port, "GET", "/healthz")[0] == 200
