"""Members' domain errors (merchants, accounts, memberships, tiers, shopper auth).

The bases (``DomainError``, ``NotFound``, ``Conflict``) and the handler that maps them
to the contract's error shape live in ``core.errors``. Codes are part of the API:
never rename one.
"""

from core.errors import Conflict, DomainError, NotFound


class MerchantNotFound(NotFound):
    code = "merchant_not_found"
    default_detail = "No merchant with this slug."


class AccountNotFound(NotFound):
    code = "account_not_found"
    default_detail = "No account with this handle."


class MembershipNotFound(NotFound):
    code = "membership_not_found"
    default_detail = "You are not a member of this merchant."


class TierNotFound(DomainError):
    code = "tier_not_found"
    default_detail = "This merchant has no tier with that name."


class UsernameTaken(Conflict):
    code = "username_taken"
    default_detail = "This username is already registered."


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    default_detail = "Unable to log in with the username and password given."


class AccountHandleTaken(Conflict):
    code = "account_handle_taken"
    default_detail = "This handle is already in use."


class BrandAccountExists(Conflict):
    code = "brand_account_exists"
    default_detail = "A merchant has one brand account; add employee accounts as 'koe'."


class TierNameTaken(Conflict):
    code = "tier_name_taken"
    default_detail = "This merchant already has a tier with that name."


class TierRankTaken(Conflict):
    code = "tier_rank_taken"
    default_detail = "This merchant already has a tier with that rank."


class MerchantSlugTaken(Conflict):
    code = "merchant_slug_taken"
    default_detail = "A merchant with this slug already exists."


class WeakPassword(DomainError):
    code = "password_too_weak"
    default_detail = "This password is too weak."


class ShopperNotFound(NotFound):
    code = "shopper_not_found"
    default_detail = "No shopper with this id is known to this merchant."


class ClaimCodeRequired(Conflict):
    code = "claim_code_required"
    default_detail = (
        "A merchant already knows a shopper with this id. Registering it needs the claim code "
        "that the merchant's system gives the shopper (claim_code)."
    )


class ClaimCodeInvalid(DomainError):
    code = "claim_code_invalid"
    default_detail = "This claim code is wrong, used, expired or out of attempts; ask for a new one."


class ShopperRegistered(Conflict):
    code = "shopper_registered"
    default_detail = "This shopper has registered already; no claim code is needed."
