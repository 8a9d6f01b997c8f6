"""Sign-in throttling cannot be turned against others: a stranger cannot lock a known account out
from another address, and clients behind a trusted reverse proxy are throttled one by one."""

from __future__ import annotations

import pytest
from accounts_helpers import PASSWORD, login
from django.test import Client

from carethread.audit.models import AuditEvent
from carethread.config import parse_trusted_proxies

pytestmark = pytest.mark.django_db

THROTTLED = "Too many failed login attempts"
PROXY = "10.0.0.5"
STRANGER = "203.0.113.9"
CLINICIAN_HOME = "198.51.100.7"


def signs_in(response) -> bool:
    # A practice user with MFA goes on to the code page; a patient is signed in.
    return response.status_code == 302 and THROTTLED not in response.content.decode()


def via_proxy(client_address: str) -> dict[str, str]:
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": client_address}


@pytest.fixture
def behind_proxy(settings):
    settings.CARETHREAD_TRUSTED_PROXIES = parse_trusted_proxies(PROXY)


def test_a_stranger_cannot_lock_a_clinician_out_from_another_address(clinician_user):
    stranger = Client()
    for _ in range(12):
        login(stranger, clinician_user.email, "guessing-123", REMOTE_ADDR=STRANGER)
    # The stranger's own address is throttled, even with the right password ...
    refused = login(Client(), clinician_user.email, PASSWORD, REMOTE_ADDR=STRANGER)
    assert THROTTLED in refused.content.decode()
    # ... while the clinician, elsewhere, signs in.
    response = login(Client(), clinician_user.email, PASSWORD, REMOTE_ADDR=CLINICIAN_HOME)
    assert signs_in(response)
    assert response["Location"] == "/accounts/2fa/authenticate/"


def test_the_account_has_a_ceiling_over_all_addresses(patient_user, settings):
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "login_failed_account": "8/15m/key",
    }
    for number in range(4):  # a spread-out guessing run: 2 tries from each of 4 addresses
        for _ in range(2):
            login(Client(), patient_user.email, "guessing-123", REMOTE_ADDR=f"192.0.2.{number}")
    response = login(Client(), patient_user.email, PASSWORD, REMOTE_ADDR=CLINICIAN_HOME)
    assert THROTTLED in response.content.decode()
    assert AuditEvent.objects.filter(
        action="auth.login_failed", details={"reason": "throttled"}
    ).exists()


def test_the_default_ceiling_is_much_higher_than_one_address_limit(settings):
    limits = settings.ACCOUNT_RATE_LIMITS
    per_address = int(limits["login_failed"].split(",")[1].split("/")[0])
    ceiling = int(limits["login_failed_account"].split("/")[0])
    assert ceiling >= 10 * per_address


def test_a_right_password_does_not_count_against_the_ceiling(patient_user, settings):
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "login_failed_account": "3/15m/key",
    }
    for number in range(5):
        assert signs_in(login(Client(), patient_user.email, REMOTE_ADDR=f"192.0.2.{number}"))


def test_behind_a_trusted_proxy_each_client_is_throttled_on_its_own(behind_proxy, patient_user):
    for number in range(10):
        login(Client(), f"guess{number}@example.com", "guessing-123", **via_proxy(STRANGER))
    refused = login(Client(), patient_user.email, PASSWORD, **via_proxy(STRANGER))
    assert THROTTLED in refused.content.decode()
    # Another client of the same proxy is not locked out.
    assert signs_in(login(Client(), patient_user.email, PASSWORD, **via_proxy(CLINICIAN_HOME)))


def test_without_the_proxy_in_the_list_all_clients_share_its_address(settings, patient_user):
    # What CARETHREAD_TRUSTED_PROXIES is for: an unlisted proxy is one address for everyone.
    settings.CARETHREAD_TRUSTED_PROXIES = ()
    for number in range(10):
        login(Client(), f"guess{number}@example.com", "guessing-123", **via_proxy(STRANGER))
    refused = login(Client(), patient_user.email, PASSWORD, **via_proxy(CLINICIAN_HOME))
    assert THROTTLED in refused.content.decode()


def test_a_spoofed_header_from_an_untrusted_peer_does_not_escape_the_limit(
    behind_proxy, patient_user
):
    for number in range(10):
        login(
            Client(),
            f"guess{number}@example.com",
            "guessing-123",
            REMOTE_ADDR=STRANGER,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{number}",
        )
    refused = login(
        Client(),
        patient_user.email,
        PASSWORD,
        REMOTE_ADDR=STRANGER,
        HTTP_X_FORWARDED_FOR=CLINICIAN_HOME,
    )
    assert THROTTLED in refused.content.decode()


def test_a_spoofed_left_hop_through_the_proxy_does_not_escape_the_limit(behind_proxy, patient_user):
    # The client makes up hops; the proxy appends the address it saw: only that is believed.
    for number in range(10):
        login(
            Client(),
            f"guess{number}@example.com",
            "guessing-123",
            **via_proxy(f"192.0.2.{number}, {STRANGER}"),
        )
    refused = login(
        Client(), patient_user.email, PASSWORD, **via_proxy(f"{CLINICIAN_HOME}, {STRANGER}")
    )
    assert THROTTLED in refused.content.decode()


def test_the_audit_trail_records_the_client_behind_the_proxy(behind_proxy, patient_user):
    login(Client(), patient_user.email, PASSWORD, **via_proxy(f"192.0.2.1, {CLINICIAN_HOME}"))
    event = AuditEvent.objects.get(action="auth.login")
    assert event.source_address == CLINICIAN_HOME
    login(
        Client(),
        patient_user.email,
        "wrong-123",
        REMOTE_ADDR=STRANGER,
        HTTP_X_FORWARDED_FOR="1.2.3.4",
    )
    failed = AuditEvent.objects.filter(action="auth.login_failed").latest("seq")
    assert failed.source_address == STRANGER


def test_enrolment_throttling_is_per_client_behind_the_proxy(behind_proxy, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "enrol": "3/m/ip"}
    for _ in range(3):
        assert (
            Client().post("/enrol", {"code": "WRONG-CODE"}, **via_proxy(STRANGER)).status_code
            != 429
        )
    assert Client().post("/enrol", {"code": "WRONG-CODE"}, **via_proxy(STRANGER)).status_code == 429
    other = Client().post("/enrol", {"code": "WRONG-CODE"}, **via_proxy(CLINICIAN_HOME))
    assert other.status_code != 429
