"""The admin login is guarded against brute force (django-axes, settings' "Auth" block)."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from tests.members.factories import USER_PASSWORD, UserFactory

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def staff(db):
    return UserFactory(username="ops", is_staff=True, is_superuser=True)


def attempt(password: str, address: str = "198.51.100.7", username: str = "ops"):
    client = Client(REMOTE_ADDR=address)
    return client.post(LOGIN, {"username": username, "password": password})


def test_the_limit_is_configured():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_LOCKOUT_PARAMETERS == ["ip_address"]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_a_good_login_is_a_redirect_to_the_admin(staff):
    response = attempt(USER_PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_after_the_failure_limit_even_the_right_password_is_refused(staff):
    # given: five wrong passwords from one address
    statuses = [attempt(f"wrong-{n}").status_code for n in range(settings.AXES_FAILURE_LIMIT)]

    # when: the right password comes from that address
    response = attempt(USER_PASSWORD)

    # then: the form answered the failures (200, with its error) and the address is locked out
    assert statuses[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert statuses[-1] == 429
    assert response.status_code == 429
    assert "_auth_user_id" not in response.client.session
    assert AccessAttempt.objects.filter(ip_address="198.51.100.7").exists()


def test_spraying_usernames_from_one_address_is_locked_out_too(staff):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt("guess", username=f"user-{n}")

    assert attempt(USER_PASSWORD).status_code == 429


def test_another_address_still_logs_in_so_an_attacker_cannot_lock_staff_out(staff):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(f"wrong-{n}")

    assert attempt(USER_PASSWORD, address="203.0.113.9").status_code == 302


def test_a_rotated_x_forwarded_for_does_not_escape_the_lockout(staff):
    for n in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").post(
            LOGIN, {"username": "ops", "password": "wrong"}
        )

    locked = Client(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="10.0.0.99").post(
        LOGIN, {"username": "ops", "password": USER_PASSWORD}
    )
    assert locked.status_code == 429


def test_a_success_before_the_limit_resets_the_count(staff):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(f"wrong-{n}")
    assert attempt(USER_PASSWORD).status_code == 302

    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(f"again-{n}")
    assert attempt(USER_PASSWORD).status_code == 302


def test_an_operator_lifts_a_lockout(staff):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(f"wrong-{n}")

    call_command("axes_reset_ip", "198.51.100.7")

    assert attempt(USER_PASSWORD).status_code == 302


def test_api_logins_are_not_counted_by_the_admin_guard(api, db):
    # The API's token route has its own throttle; its failures never lock the admin.
    UserFactory(username="ops", is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        api.post("/api/v1/auth/token", {"username": "ops", "password": "wrong"}, format="json")

    assert not AccessAttempt.objects.exists()
    assert attempt(USER_PASSWORD).status_code == 302
