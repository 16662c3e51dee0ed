"""Loyalty's domain errors (points, orders, refunds). Codes are part of the API."""

from core.errors import Conflict, DomainError, InvariantViolated, NotFound


class InsufficientPoints(DomainError):
    code = "insufficient_points"
    default_detail = "Not enough points for this."


class OrderConflict(Conflict):
    code = "order_conflict"
    default_detail = "An order with this external_id was already recorded with a different body."


class OrderTooLarge(DomainError):
    code = "order_too_large"
    default_detail = "The order's subtotal is larger than an amount can be."


class PointsOutOfRange(DomainError):
    code = "points_out_of_range"
    default_detail = "This order would earn more points than an account can hold."


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
