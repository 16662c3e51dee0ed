"""Outbound webhooks: the merchant's own systems told what happened (docs/webhooks.md).

In ``members`` (the merchant's layer) so that every app above can emit: the order
pipeline, refunds, coupons, tiers, iron fans, campaigns. Events are rows written in the
transaction that caused them; the transactional outbox (``core.outbox``) hands them to
the workers after the commit; the workers sign and send them, outside any transaction.
"""
