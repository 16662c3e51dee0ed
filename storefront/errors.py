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


class InvalidCursor(DomainError):
    code = "invalid_cursor"
    default_detail = "This cursor is not one this list gave out; start again from the first page."


class InboxMessageNotFound(NotFound):
    code = "inbox_message_not_found"
    default_detail = "No message with this id in your inbox."


class RolloutNotFound(NotFound):
    code = "rollout_not_found"
    default_detail = "This product has no rollout: it has not been published."


class RolloutNotAdvanceable(Conflict):
    code = "rollout_finished"
    default_detail = "This rollout is done; there is no stage after it."
