"""The benchmarks. Each module registers its own with ``@benchmark``; they run in this order."""

from importlib import import_module

MODULES = [
    "orders_service",
    "orders_coupon",
    "orders_http",
    "reads",
    "coupons_validate",
    "engagement",
    "campaigns",
    "rollouts",
    "program",
    "dashboard",
    "pending",
]


def load() -> None:
    for name in MODULES:
        import_module(f"benchmarks.cases.{name}")
