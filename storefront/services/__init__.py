"""Writes of the storefront app, one module per concept (catalog, stats). The package
re-exports them, so ``storefront.services.product_create`` keeps working.
"""

from storefront.services.catalog import category_get_or_create, product_create, product_update
from storefront.services.stats import purchase_stats_record, purchase_stats_recount

__all__ = [
    "category_get_or_create",
    "product_create",
    "product_update",
    "purchase_stats_record",
    "purchase_stats_recount",
]
