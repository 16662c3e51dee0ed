"""The merchant's loyalty program: its terms, changed by staff or the merchant API."""

from django.db import transaction

from core.services import model_update
from coupons.errors import TemplateNotFound
from coupons.models import CouponTemplate
from loyalty.locks import programs_lock
from loyalty.models import Program
from members.engagement.services import fan_policy_update
from members.models import Merchant
from storefront.services.rollouts import rollout_policy_update

UPDATABLE = {
    "points_per_unit",
    "points_expiry_days",
    "join_bonus_points",
    "join_coupon_template",
    "repurchase_template",
    "repurchase_delay_days",
    "repurchase_members_only",
    "tier_grace_days",
}
TEMPLATE_FIELDS = {"join_coupon_template", "repurchase_template"}


@transaction.atomic
def program_update(
    *, merchant: Merchant, fan_policy: dict | None = None, rollout: dict | None = None, **changes
) -> Program:
    """Change the program's terms; coupon templates are given by id and must be the merchant's.

    ``fan_policy`` changes the merchant's fan policy (members) and ``rollout`` the
    fans-first push settings (kept by the storefront beside the rollouts they govern),
    in the same transaction.
    """
    if fan_policy:
        fan_policy_update(merchant=merchant, **fan_policy)
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise TypeError(f"not updatable: {sorted(unknown)}")
    changes = dict(changes)
    for name in TEMPLATE_FIELDS & set(changes):
        template_id = changes[name]
        if template_id is None:
            continue
        template = CouponTemplate.objects.filter(merchant=merchant, pk=template_id).first()
        if template is None:
            raise TemplateNotFound(attr=name)
        changes[name] = template
    program, _ = programs_lock().get_or_create(merchant=merchant)
    model_update(instance=program, fields=UPDATABLE, data=changes)
    if rollout:
        rollout_policy_update(merchant=merchant, **rollout)
    return program
