"""Writes of the fan policy."""

from django.db import transaction

from members import errors
from members.engagement.models import FanPolicy
from members.locks import fan_policies_lock
from members.models import Merchant

POLICY_FIELDS = {"half_life_days", "promote_at", "demote_below", "min_active_days"}


@transaction.atomic
def fan_policy_update(*, merchant: Merchant, weights: dict[str, float] | None = None, **changes) -> FanPolicy:
    """Change the merchant's fan policy; the thresholds must keep ``demote_below < promote_at``."""
    unknown = set(changes) - POLICY_FIELDS
    if unknown:
        raise TypeError(f"not updatable: {sorted(unknown)}")
    policy, _ = fan_policies_lock().get_or_create(merchant=merchant)
    for kind, weight in (weights or {}).items():
        setattr(policy, f"weight_{kind}", weight)
    for name, value in changes.items():
        setattr(policy, name, value)
    if policy.demote_below >= policy.promote_at:
        attr = "demote_below" if "demote_below" in changes else "promote_at"
        raise errors.FanPolicyInvalid(
            f"demote_below ({policy.demote_below:g}) must be below promote_at ({policy.promote_at:g}): "
            "a fan between the two keeps their status.",
            attr=f"fan_policy.{attr}",
        )
    policy.save()
    return policy
