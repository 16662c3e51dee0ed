"""Who an admin login attempt comes from, for django-axes' lockout.

The same address the API's throttles count (DRF's ``NUM_PROXIES`` rule): the
connection's address, or behind N proxies the address the Nth proxy saw; never a
client's own ``X-Forwarded-For``, which anyone can rotate to escape a lockout.
"""

from rest_framework.throttling import BaseThrottle


def client_address(request) -> str:
    return BaseThrottle().get_ident(request)
