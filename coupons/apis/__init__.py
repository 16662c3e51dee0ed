"""Coupon endpoints: templates, cart validation and a shopper's coupons (``coupons``);
campaigns, their audiences and runs (``campaigns``)."""

from coupons.apis.coupons import (
    CouponCodesField,
    CouponOutput,
    CouponTemplateListCreateApi,
    CouponValidateApi,
    MyCouponListApi,
    TemplateOutput,
)

__all__ = [
    "CouponCodesField",
    "CouponOutput",
    "CouponTemplateListCreateApi",
    "CouponValidateApi",
    "MyCouponListApi",
    "TemplateOutput",
]
