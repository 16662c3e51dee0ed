"""Dataset sizes and run lengths per ``--scale``.

``default`` is the issue's dataset; ``small`` is a quick look (under two minutes in
all on a 2-core machine); ``tiny`` runs in seconds and is the CI smoke test, which
checks that the harness works, not the figures.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    # Dataset.
    merchants: int
    koe_accounts_per_merchant: int
    shoppers: int
    memberships: int  # two per member shopper: the first memberships/2 shoppers are members
    follows: int
    products: int  # split evenly between the merchants
    categories: int
    history_orders: int  # past 3-line orders of members (feeds frequently purchased and the 12-month spend)
    engagement_events: int  # generated once the engagement model exists
    coupons: int  # issued coupons, one per membership from the first (a mix of states and templates)
    # Benchmarks.
    service_orders: int  # sequential orders through purchase_record (and as many raw-SQL twins)
    query_count_orders: int  # further orders, each counted with CaptureQueriesContext
    coupon_orders: int  # first orders of new members redeeming a coupon (and as many raw-SQL twins)
    http_rate: int  # requests per second of the open-loop load generator
    http_seconds: float  # order ingestion through HTTP
    read_seconds: float  # each read endpoint through HTTP
    sample_shoppers: int  # shoppers with an API token, rotated through by the read benchmarks
    rollout_followers: int  # followers one rollout stage reaches (taken from the shoppers)
    time_limit: float  # seconds any one benchmark loop may run before it stops by itself
    repeat: int = 3  # rounds of each benchmark (``--repeat``): the median is reported


SCALES = {
    "default": Scale(
        name="default",
        merchants=20,
        koe_accounts_per_merchant=4,
        shoppers=1_000_000,
        memberships=1_000_000,
        follows=1_000_000,
        products=100_000,
        categories=50,
        history_orders=200_000,
        engagement_events=5_000_000,
        coupons=1_000_000,
        service_orders=2000,
        query_count_orders=20,
        coupon_orders=1000,
        http_rate=100,
        http_seconds=10,
        read_seconds=10,
        sample_shoppers=200,
        rollout_followers=1_000_000,
        time_limit=300,
    ),
    "small": Scale(
        name="small",
        merchants=10,
        koe_accounts_per_merchant=4,
        shoppers=50_000,
        memberships=50_000,
        follows=50_000,
        products=5_000,
        categories=20,
        history_orders=10_000,
        engagement_events=250_000,
        coupons=50_000,
        service_orders=500,
        query_count_orders=20,
        coupon_orders=300,
        http_rate=100,
        http_seconds=5,
        read_seconds=5,
        sample_shoppers=50,
        rollout_followers=50_000,
        time_limit=60,
    ),
    "tiny": Scale(
        name="tiny",
        merchants=3,
        koe_accounts_per_merchant=2,
        shoppers=300,
        memberships=300,
        follows=300,
        products=60,
        categories=5,
        history_orders=100,
        engagement_events=1_500,
        coupons=300,
        service_orders=20,
        query_count_orders=5,
        coupon_orders=10,
        http_rate=50,
        http_seconds=1,
        read_seconds=1,
        sample_shoppers=5,
        rollout_followers=300,
        time_limit=30,
        repeat=1,  # the CI smoke test checks the harness, not the figures; --repeat 2 exercises rounds
    ),
}
