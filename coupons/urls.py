from core.routing import slash_optional
from coupons import apis
from coupons.apis import campaigns

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
    *slash_optional("merchant/campaigns", campaigns.CampaignListCreateApi.as_view(), "merchant-campaigns"),
    *slash_optional(
        "merchant/campaigns/<key:id>", campaigns.CampaignDetailApi.as_view(), "merchant-campaign"
    ),
    *slash_optional(
        "merchant/campaigns/<key:id>/audience",
        campaigns.CampaignAudienceApi.as_view(),
        "merchant-campaign-audience",
    ),
    *slash_optional(
        "merchant/campaigns/<key:id>/run", campaigns.CampaignRunCreateApi.as_view(), "merchant-campaign-run"
    ),
    *slash_optional(
        "merchant/campaigns/<key:id>/runs/<key:run>",
        campaigns.CampaignRunDetailApi.as_view(),
        "merchant-campaign-run-detail",
    ),
    *slash_optional(
        "merchant/campaigns/<key:id>/runs/<key:run>/resume",
        campaigns.CampaignRunResumeApi.as_view(),
        "merchant-campaign-run-resume",
    ),
    *slash_optional(
        "merchant/campaigns/<key:id>/runs/<key:run>/cancel",
        campaigns.CampaignRunCancelApi.as_view(),
        "merchant-campaign-run-cancel",
    ),
]
