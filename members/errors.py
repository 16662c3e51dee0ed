"""Domain errors with stable codes.

Every app's ``errors.py`` subclasses :class:`DomainError`. Services raise them;
``loyalty.exceptions.exception_handler`` turns them into the contract's error shape
with the class's HTTP status. Codes are part of the API: never rename one.
"""

from dataclasses import dataclass


class DomainError(Exception):
    code = "domain_error"
    status_code = 400
    default_detail = "The request cannot be carried out."

    def __init__(self, detail: str | None = None, *, attr: str | None = None):
        self.detail = detail or self.default_detail
        self.attr = attr
        super().__init__(self.detail)

    @classmethod
    def on(cls, field: str):
        """For the schema: this error, reported as a 400 on the input field ``field``."""
        return ErrorAt(cls, field)


@dataclass(frozen=True)
class ErrorAt:
    """A domain error reported on an input field: a 400 validation error whose ``attr`` is ``field``."""

    error: type[DomainError]
    field: str


class NotFound(DomainError):
    code = "not_found"
    status_code = 404
    default_detail = "Not found."


class Conflict(DomainError):
    code = "conflict"
    status_code = 409
    default_detail = "The request conflicts with existing data."


class MerchantNotFound(NotFound):
    code = "merchant_not_found"
    default_detail = "No merchant with this slug."


class ShopperNotFound(NotFound):
    code = "shopper_not_found"
    default_detail = "No shopper with this external id among this merchant's members, fans and buyers."


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
