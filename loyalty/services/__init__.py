"""Writes of the top layer, one module per concept:

- ``memberships``: onboarding a merchant, joining a membership (bonus included);
- ``points``: the ledger (earn, spend, adjust, reverse) and ``expiry`` (nightly);
- ``purchases``: the purchase pipeline (orders in: points, tier, stats);
- ``refunds``: refunds by lines.
"""
