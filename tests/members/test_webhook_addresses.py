"""Where webhooks may go: https only in production, never to private addresses (SSRF)."""

import socket

import pytest

from members.webhooks.addresses import Refused, address_allowed, resolve, url_check
from members.webhooks.errors import WebhookUrlNotAllowed


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",  # the cloud metadata service
        "100.64.0.1",  # shared address space
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(address):
    assert not address_allowed(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_are_allowed(address):
    assert address_allowed(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",  # plain http without DEBUG
        "ftp://hooks.example.com/x",
        "https://user:pass@hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://[::1]/x",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/x",
        "https://api.localhost/x",
        "https://10.0.0.1:8443/x",
    ],
)
def test_urls_refused_at_registration(url):
    with pytest.raises(WebhookUrlNotAllowed):
        url_check(url)


def test_plain_http_is_allowed_when_the_setting_says_so(settings):
    settings.WEBHOOKS_ALLOW_HTTP = True
    url_check("http://hooks.example.com/x")


def test_a_name_that_resolves_to_a_private_address_is_refused_at_delivery(monkeypatch):
    # given: a public-looking name with one public and one private address (rebinding)
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)

    with pytest.raises(Refused, match=r"10\.0\.0\.5"):
        resolve("https://hooks.example.com/x")


def test_localhost_by_name_is_refused_at_delivery_even_if_registered(settings):
    # resolution is real (localhost resolves offline); the check is on every address
    with pytest.raises(Refused):
        resolve("https://localhost:9/x")


def test_the_checked_address_is_the_one_connected_to(monkeypatch):
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))],
    )

    target = resolve("https://hooks.example.com:8443/in?x=1")

    assert (target.address, target.host, target.port, target.path) == (
        "93.184.216.34",
        "hooks.example.com",
        8443,
        "/in?x=1",
    )


def test_the_allow_private_setting_lets_a_local_receiver_through(settings):
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True

    assert resolve("http://127.0.0.1:9/x").address == "127.0.0.1"
