"""``carethread demo``: seed the demo practice once and print every demo login."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from carethread.accounts import actions as account_actions
from carethread.core import actions as core_actions
from carethread.core.fhir_import import import_resources
from carethread.core.models import Organization, Patient, Practitioner, Representative
from carethread.web import demo

ENROL_MRN = "RFM-1005"


class Command(BaseCommand):
    help = "Seed the demo practice (once) and print the demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        if Organization.objects.filter(tin=demo.DEMO_TIN).exists():
            self.stdout.write("Demo data already present.")
        else:
            self._seed()
            self.stdout.write(self.style.SUCCESS("Demo data seeded."))
        self._print_logins()
        self._print_enrolment_code()

    @transaction.atomic
    def _seed(self) -> None:
        import_resources(demo.resources(timezone.localdate()), origin="demo")
        practitioners = {p.source_key: p for p in Practitioner.objects.all()}
        org = Organization.objects.get(tin=demo.DEMO_TIN)
        for name, description, members in demo.POOLS:
            core_actions.create_pool(
                org,
                name=name,
                description=description,
                members=[practitioners[f"Practitioner/{m}"] for m in members],
            )
        for login in demo.LOGINS:
            if login.kind == "practice":
                practitioner = Practitioner.objects.get(email=login.email)
                account_actions.create_user(
                    login.email, demo.DEMO_PASSWORD, practitioner=practitioner
                )
            elif login.kind == "patient":
                patient = Patient.objects.get(email=login.email)
                account_actions.create_user(login.email, demo.DEMO_PASSWORD, patient=patient)
            else:
                reps = list(Representative.objects.filter(email=login.email))
                account_actions.create_user(login.email, demo.DEMO_PASSWORD, representatives=reps)
        rivera = Practitioner.objects.get(source_key="Practitioner/pr-rivera")
        membership = rivera.memberships.get(organization=org)
        account_actions.set_practice_admin(membership, True, actor=None)
        # Message history last, so the threads land in the inboxes of the logins above.
        import_resources(demo.message_resources(timezone.localdate()), origin="demo")

    def _print_enrolment_code(self) -> None:
        patient = Patient.objects.get(mrn=ENROL_MRN)
        if patient.user_id is not None:
            return
        _invitation, _token, code = account_actions.create_invitation(patient, send_email=False)
        self.stdout.write(
            f"To try enrolment: patient Olivia Brown ({ENROL_MRN}, born 1986-09-30) has the "
            f"invitation code {code}; enter it at http://127.0.0.1:8000/enrol"
        )

    def _print_logins(self) -> None:
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {demo.DEMO_PASSWORD})")
        for login in demo.LOGINS:
            self.stdout.write(f"  {login.email:<38} {login.who}")
        self.stdout.write(
            "Practice users set up two-factor authentication (an authenticator app) "
            "at their first sign-in."
        )
        self.stdout.write("Open http://127.0.0.1:8000 to sign in.")
