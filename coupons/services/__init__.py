"""Coupon writes: ``issuing`` (the one way a coupon comes to be), ``redemption``
(redeem and restore inside the purchase pipeline), ``templates``, ``expiry``."""
