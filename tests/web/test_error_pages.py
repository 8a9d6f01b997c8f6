"""The 400, 403, 404 and 500 pages in the product's layout, saying what to do; with DEBUG off
Django answers with them. The 500 page renders with neither a request nor the database. The
top bar links administrators to the administration index and auditors to the audit report."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse
from support.world import client_of, make_admin

from carethread.core.models import Membership
from carethread.web.context import url_or_empty

pytestmark = pytest.mark.django_db

# The service's URLs and two that fail on purpose.
ERRORS_URLCONF = "web.error_pages_urls"


def text(response) -> str:
    return response.content.decode()


@pytest.fixture(autouse=True)
def _error_urls(settings):
    settings.ROOT_URLCONF = ERRORS_URLCONF


@override_settings(DEBUG=False)
def test_a_missing_page_answers_the_styled_404_to_anyone():
    response = Client().get("/no-such-page")
    assert response.status_code == 404
    page = text(response)
    assert "<title>Page not found" in page
    assert 'class="site-header"' in page and "site.css" in page
    assert 'href="/accounts/login/"' in page and "Sign in" in page


@override_settings(DEBUG=False)
def test_the_404_of_a_signed_in_person_links_home(world):
    page = text(client_of(world.patient.user).get("/no-such-page"))
    assert "Page not found" in page
    assert 'href="/"' in page and 'href="/messages/"' in page
    assert "Sign out" in page  # the top bar of a signed-in person


@override_settings(DEBUG=False)
def test_refused_answers_the_styled_403(world):
    response = client_of(world.patient.user).get("/test-refused")
    assert response.status_code == 403
    page = text(response)
    assert "This is not allowed" in page and "administrator" in page and 'href="/"' in page


@override_settings(DEBUG=False)
def test_a_form_without_its_token_answers_the_styled_403():
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"login": "x"})
    assert response.status_code == 403
    page = text(response)
    assert "This form has expired" in page and "Nothing was saved" in page


@override_settings(DEBUG=False)
def test_a_failure_answers_the_styled_500(world):
    client = client_of(world.patient.user)
    client.raise_request_exception = False
    response = client.get("/test-broken")
    assert response.status_code == 500
    page = text(response)
    assert "Something went wrong on our side" in page
    assert 'href="/"' in page and "911" in page
    assert "a bug" not in page


def test_the_500_page_needs_no_request_and_no_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        page = render_to_string("500.html")
    assert "Something went wrong on our side" in page and "Sign out" not in page


def test_the_400_page_matches_the_others(world):
    response = client_of(world.patient.user).get("/messages/?before=not-a-date")
    assert response.status_code == 400
    page = text(response)
    assert 'class="error-page"' in page and "What you can do" in page


def admin_link(page: str) -> bool:
    return 'href="/practice/"' in page and ">Administration</a>" in page


def test_the_top_bar_links_administrators_to_administration(world):
    assert not admin_link(text(client_of(world.c1.user).get("/")))
    make_admin(world)
    assert admin_link(text(client_of(world.c1.user).get("/")))
    assert not admin_link(text(client_of(world.c2.user).get("/")))
    assert not admin_link(text(client_of(world.patient.user).get("/")))


def test_the_top_bar_links_auditors_to_the_audit_report(world):
    Membership.objects.filter(practitioner=world.c2).update(is_auditor=True)
    page = text(client_of(world.c2.user).get("/"))
    try:
        audit_url = reverse("audit_report")
    except NoReverseMatch:  # the report's page is not there: no link to it
        assert ">Audit</a>" not in page
    else:
        assert f'href="{audit_url}"' in page and ">Audit</a>" in page
    assert ">Audit</a>" not in text(client_of(world.c1.user).get("/"))


def test_a_link_to_a_page_that_does_not_exist_is_not_made():
    assert url_or_empty("no_such_page") == ""
    assert url_or_empty("home") == "/"
