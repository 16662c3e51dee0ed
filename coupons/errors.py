"""Coupon errors. The ``coupon_*`` codes double as rejection reasons in
``POST /api/v1/merchant/coupons/validate``: never rename one."""

from core.errors import Conflict, DomainError, InvariantViolated, NotFound


class CouponRejected(DomainError):
    """A coupon that cannot be used in this order; ``code`` says why."""


class CouponNotFound(CouponRejected):
    code = "coupon_not_found"
    default_detail = "No coupon of this merchant with this code."


class CouponNotOwned(CouponRejected):
    code = "coupon_not_owned"
    default_detail = "This coupon belongs to another shopper."


class CouponExpired(CouponRejected):
    code = "coupon_expired"
    default_detail = "This coupon has expired."


class CouponNotStarted(CouponRejected):
    code = "coupon_not_started"
    default_detail = "This coupon cannot be used yet."


class CouponRedeemed(CouponRejected):
    code = "coupon_redeemed"
    default_detail = "This coupon has already been used."


class CouponVoid(CouponRejected):
    code = "coupon_void"
    default_detail = "This coupon was cancelled by the merchant."


class CouponMinSpend(CouponRejected):
    code = "coupon_min_spend"
    default_detail = "The products this coupon applies to do not reach its minimum spend."


class CouponOutOfScope(CouponRejected):
    code = "coupon_out_of_scope"
    default_detail = "No product in this order is covered by this coupon."


class CouponNotStackable(CouponRejected):
    code = "coupon_not_stackable"
    default_detail = "Only one coupon per order, unless every coupon used together is stackable."


class CouponOutOfStock(Conflict):
    code = "coupon_out_of_stock"
    default_detail = "All coupons of this kind have been given out."


class CouponLimitReached(Conflict):
    code = "coupon_limit_reached"
    default_detail = "This shopper already holds as many unused coupons of this kind as allowed."


class NotAMember(DomainError):
    code = "not_a_member"
    default_detail = "Coupons are issued to members of the merchant only."


class TemplateNotFound(NotFound):
    code = "coupon_template_not_found"
    default_detail = "No coupon template of this merchant with this id."


class TemplateNotExchangeable(DomainError):
    code = "coupon_template_not_exchangeable"
    default_detail = "This coupon cannot be bought with points."


class TemplateInactive(DomainError):
    code = "coupon_template_inactive"
    default_detail = "This coupon template is switched off."


class UnknownTemplateProduct(DomainError):
    code = "unknown_sku"
    default_detail = "No product of this merchant with this sku."


# Why an automatic coupon (join, repurchase) is not issued; the flow that asked goes on.
# ``TemplateNotFound`` too: a program's template of another merchant (set by a superuser) must
# not refuse the order or the join.
NOT_ISSUABLE = (
    CouponOutOfStock,
    CouponLimitReached,
    CouponRejected,
    TemplateInactive,
    TemplateNotFound,
    NotAMember,
)


class TemplateTermsInvalid(DomainError):
    """Coupon-template terms that do not go together (the ``attr`` names the field).

    A base: each rule raises its own subclass below, with its own code (the schema lists them).
    """

    code = "invalid"
    default_detail = "These coupon terms do not go together."


class TemplateTermMissing(DomainError):
    """A coupon-template term its scope needs is missing (the ``attr`` names the field)."""

    code = "required"
    default_detail = "This scope needs this field."


class CouponChangedUnderLock(InvariantViolated):
    """A coupon locked and checked for an order was no longer issued when redeemed."""


class CampaignNotFound(NotFound):
    code = "campaign_not_found"
    default_detail = "No campaign of this merchant with this id."


class CampaignRunNotFound(NotFound):
    code = "campaign_run_not_found"
    default_detail = "No run of this campaign with this id."


class AudienceInvalid(DomainError):
    """A campaign audience with an unknown key or a bad value (``attr`` names the key)."""

    code = "invalid_audience"
    default_detail = "This audience is not valid."


class ScheduleInvalid(DomainError):
    """A cron schedule, ``run_at`` or timezone that cannot be used (``attr`` names it)."""

    code = "invalid_schedule"
    default_detail = "This schedule is not valid."


class CampaignRunInProgress(Conflict):
    code = "campaign_run_in_progress"
    default_detail = "This campaign has a run that has not finished; wait for it or resume it."


class CampaignRunNotResumable(Conflict):
    code = "campaign_run_not_resumable"
    default_detail = "Only a run that has not finished (queued, running or failed) can be resumed."


class CampaignRunNotCancellable(Conflict):
    code = "campaign_run_not_cancellable"
    default_detail = "Only a queued or running run can be cancelled; this one has ended."


class CampaignTemplateNotIssuable(Conflict):
    code = "campaign_template_not_issuable"
    default_detail = "The campaign's coupon template is switched off or its validity window is over."


# Every reason a coupon can be refused by an order or a cart check (``rules.check``).
ORDER_REJECTIONS = (
    CouponNotFound,
    CouponNotOwned,
    CouponExpired,
    CouponNotStarted,
    CouponRedeemed,
    CouponVoid,
    CouponMinSpend,
    CouponOutOfScope,
    CouponNotStackable,
)


# --- A template's terms that do not fit together (``coupon_template_create``) ----------


class PercentOver100(TemplateTermsInvalid):
    code = "percent_over_100"
    default_detail = "A percent discount is at most 100."


class CapNeedsPercent(TemplateTermsInvalid):
    code = "cap_needs_percent"
    default_detail = "Only a percent discount has a cap."


class ScopeNeedsCategory(TemplateTermMissing):
    code = "scope_needs_category"
    default_detail = "A category scope needs a category."


class ScopeNeedsProducts(TemplateTermMissing):
    code = "scope_needs_products"
    default_detail = "A products scope needs skus."


class ValidityAmbiguous(TemplateTermsInvalid):
    code = "validity_ambiguous"
    default_detail = "Give either valid_days (from issue) or a window ending at valid_until."


class ValidFromWithoutUntil(TemplateTermsInvalid):
    code = "valid_from_without_until"
    default_detail = "valid_from goes with valid_until."


class WindowReversed(TemplateTermsInvalid):
    code = "window_reversed"
    default_detail = "Must be after valid_from."


class WindowInPast(TemplateTermsInvalid):
    code = "window_in_past"
    default_detail = "Must be in the future."


# Each with the field it is reported on: the API answers them as a 400 on that field.
TEMPLATE_TERMS = (
    (PercentOver100, "value"),
    (CapNeedsPercent, "max_discount"),
    (ScopeNeedsCategory, "category"),
    (ScopeNeedsProducts, "products"),
    (ValidityAmbiguous, "valid_days"),
    (ValidFromWithoutUntil, "valid_from"),
    (WindowReversed, "valid_until"),
    (WindowInPast, "valid_until"),
)
