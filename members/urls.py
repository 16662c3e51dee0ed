from core.routing import slash_optional
from members import apis
from members.engagement import apis as engagement_apis
from members.webhooks import apis as webhook_apis

urlpatterns = [
    *slash_optional("auth/register", apis.AuthRegisterApi.as_view(), "auth-register"),
    *slash_optional("auth/token", apis.AuthTokenApi.as_view(), "auth-token"),
    *slash_optional("me/follows", apis.FollowListCreateApi.as_view(), "me-follows"),
    *slash_optional("me/follows/<key:handle>", apis.FollowDeleteApi.as_view(), "me-follow"),
    *slash_optional("merchant/accounts", apis.AccountListCreateApi.as_view(), "merchant-accounts"),
    *slash_optional(
        "merchant/accounts/<key:handle>/stats",
        engagement_apis.AccountStatsApi.as_view(),
        "merchant-account-stats",
    ),
    *slash_optional("merchant/tiers", apis.TierListCreateApi.as_view(), "merchant-tiers"),
    *slash_optional("merchant/webhooks", webhook_apis.WebhookListCreateApi.as_view(), "merchant-webhooks"),
    *slash_optional(
        "merchant/webhooks/<key:id>", webhook_apis.WebhookDeleteApi.as_view(), "merchant-webhook"
    ),
    *slash_optional(
        "merchant/webhooks/<key:id>/rotate-secret",
        webhook_apis.WebhookSecretRotateApi.as_view(),
        "merchant-webhook-rotate-secret",
    ),
    *slash_optional(
        "merchant/webhooks/<key:id>/deliveries",
        webhook_apis.WebhookDeliveryListApi.as_view(),
        "merchant-webhook-deliveries",
    ),
]
