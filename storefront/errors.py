from core.errors import Conflict, DomainError, NotFound


class ProductSkuTaken(Conflict):
    code = "product_sku_taken"
    default_detail = "This merchant already has a product with this sku."


class ProductNotFound(NotFound):
    code = "product_not_found"
    default_detail = "No product of this merchant with this sku."


class UnknownProduct(DomainError):
    code = "unknown_sku"
    default_detail = "No product with this sku."


class DuplicateSku(DomainError):
    code = "duplicate_sku"
    default_detail = "Each sku may appear once per order; add the quantities together."


class UnknownCategory(DomainError):
    code = "unknown_category"
    default_detail = "This merchant has no category with this slug; a product creates it by naming it."


class OrderTooLarge(DomainError):
    code = "order_too_large"
    default_detail = "The order's subtotal is larger than an amount can be."


class PaidAtOutOfRange(DomainError):
    code = "paid_at_out_of_range"
    default_detail = "paid_at must be a time in the past (a few minutes of clock skew allowed)."
