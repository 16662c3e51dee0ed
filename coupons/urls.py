from core.routing import slash_optional
from coupons import apis

urlpatterns = [
    *slash_optional(
        "merchant/coupon-templates", apis.CouponTemplateListCreateApi.as_view(), "merchant-coupon-templates"
    ),
    *slash_optional(
        "merchant/coupon-templates/<key:template_id>",
        apis.CouponTemplateDetailApi.as_view(),
        "merchant-coupon-template",
    ),
    *slash_optional(
        "merchant/coupons/validate", apis.CouponValidateApi.as_view(), "merchant-coupons-validate"
    ),
    *slash_optional("me/coupons", apis.MyCouponListApi.as_view(), "me-coupons"),
]
