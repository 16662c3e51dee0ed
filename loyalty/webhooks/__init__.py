"""Outbound webhooks: the merchant's systems told what happened (docs/webhooks.md)."""
