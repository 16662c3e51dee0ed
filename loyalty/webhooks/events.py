"""Webhook events, written in the transaction that caused them."""


def tier_changes_emit(*, change_ids: list[int]) -> int:
    return 0
