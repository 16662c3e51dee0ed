"""Coupon endpoints: templates, cart validation and a shopper's coupons (``coupons``);
campaigns, their audiences and runs (``campaigns``)."""

from coupons.apis.coupons import (
    CouponCodesField,
    CouponOutput,
    CouponTemplateDetailApi,
    CouponTemplateListCreateApi,
    CouponValidateApi,
    MyCouponListApi,
    TemplateOutput,
)

__all__ = [
    "CouponCodesField",
    "CouponOutput",
    "CouponTemplateDetailApi",
    "CouponTemplateListCreateApi",
    "CouponValidateApi",
    "MyCouponListApi",
    "TemplateOutput",
]
