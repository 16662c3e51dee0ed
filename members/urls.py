from core.routing import slash_optional
from members import apis

urlpatterns = [
    *slash_optional("auth/register", apis.AuthRegisterApi.as_view(), "auth-register"),
    *slash_optional("auth/token", apis.AuthTokenApi.as_view(), "auth-token"),
    *slash_optional("me/follows", apis.FollowListCreateApi.as_view(), "me-follows"),
    *slash_optional("me/follows/<key:handle>", apis.FollowDeleteApi.as_view(), "me-follow"),
    *slash_optional("merchant/accounts", apis.AccountListCreateApi.as_view(), "merchant-accounts"),
    *slash_optional("merchant/tiers", apis.TierListCreateApi.as_view(), "merchant-tiers"),
]
