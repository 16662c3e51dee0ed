"""Loyalty's domain errors (points, orders, refunds). Codes are part of the API."""

from core.errors import Conflict, DomainError, InvariantViolated, NotFound
from storefront.errors import OrderTooLarge  # noqa: F401  (raised by the pipeline; lives with orders)


class InsufficientPoints(DomainError):
    code = "insufficient_points"
    default_detail = "Not enough points for this."


class OrderConflict(Conflict):
    code = "order_conflict"
    default_detail = "An order with this external_id was already recorded with a different body."


class RefundConflict(Conflict):
    code = "refund_conflict"
    default_detail = "A refund with this external_id was already recorded with a different body."


class OrderNotFound(NotFound):
    code = "order_not_found"
    default_detail = "No order with this external_id."


class UnknownViaAccount(DomainError):
    code = "unknown_account"
    default_detail = "via_account is not an account of this merchant."


class RefundExceedsPurchase(DomainError):
    code = "refund_exceeds_purchase"
    default_detail = "The refund asks for more than is left to refund on this line."


class SkuNotInOrder(DomainError):
    code = "sku_not_in_order"
    default_detail = "This sku is not a line of the order."


class LedgerCorrupt(InvariantViolated):
    """A points account's open lots hold less than its balance says."""
