"""A small practice world for messaging tests, built with the real actions.

``build_world()`` returns a namespace with:

* ``org`` (Riverside, TIN 271234567) and ``other_org`` (Hillside, TIN 271234568);
* practitioners with logins: ``c1`` and ``c2`` (clinicians at ``org``), ``staff`` (staff at
  ``org``, member of the ``refills`` pool), ``staff2`` (staff at ``org``, in no pool),
  ``outsider`` (clinician at ``other_org``); their users are ``c1.user`` etc.;
* pools ``refills`` (member: ``staff``) and ``front`` (members: ``staff``, ``c2``) of ``org``;
* patients with logins: ``patient`` (seen by ``c1`` at ``org`` 30 days ago), ``other_patient``
  (seen by ``c2`` at ``org``), ``blocked_patient`` (seen by ``c1``, portal blocked) and
  ``unenrolled`` (seen by ``c1``, no login);
* representatives of ``patient``: ``rep`` (valid, login ``rep.user``) and ``expired_rep``
  (authorisation ended yesterday, login ``expired_rep.user``).

Every login's password is ``PASSWORD``; practice users have TOTP set up.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client
from django.utils import timezone

from carethread.accounts import actions as accounts
from carethread.core.actions import create_pool
from carethread.core.models import (
    Encounter,
    EncounterParticipant,
    Location,
    Membership,
    Organization,
    Patient,
    Practitioner,
    Representative,
)

PASSWORD = "correct-horse-battery-42"
BLOCK_REASON = "misuse"


def practitioner(org, email, family, *, role="clinician", npi=None, mfa=True):
    p = Practitioner.objects.create(family_name=family, given_name="Dr", email=email, npi=npi)
    Membership.objects.create(practitioner=p, organization=org, role=role)
    user = accounts.create_user(email, PASSWORD, practitioner=p)
    if mfa:
        TOTP.activate(user, generate_totp_secret())
    p.refresh_from_db()
    return p


def patient(org, mrn, family, email, *, login=True):
    p = Patient.objects.create(
        mrn=mrn,
        family_name=family,
        given_name="Pat",
        birth_date=dt.date(1980, 1, 2),
        email=email,
        managing_organization=org,
    )
    if login:
        accounts.create_user(email, PASSWORD, patient=p)
        p.refresh_from_db()
    return p


def visit(patient_row, clinician, org, *, days_ago=30, location=None, status="finished"):
    enc = Encounter.objects.create(
        status=status,
        class_code="AMB",
        patient=patient_row,
        organization=org,
        location=location,
        start=timezone.now() - dt.timedelta(days=days_ago),
    )
    EncounterParticipant.objects.create(encounter=enc, practitioner=clinician)
    return enc


def representative(patient_row, email, *, valid_until=None, login=True):
    now = timezone.now()
    rep = Representative.objects.create(
        patient=patient_row,
        family_name="Doe",
        given_name="Jane",
        email=email,
        relationship="MTH",
        valid_from=now - dt.timedelta(days=365),
        valid_until=valid_until,
        consent_given_at=now - dt.timedelta(days=365),
    )
    if login:
        accounts.create_user(email, PASSWORD, representatives=[rep])
        rep.refresh_from_db()
    return rep


def build_world() -> SimpleNamespace:
    w = SimpleNamespace()
    w.org = Organization.objects.create(tin="271234567", name="Riverside Family Medicine")
    w.other_org = Organization.objects.create(tin="271234568", name="Hillside Pediatrics")
    w.office = Location.objects.create(organization=w.org, name="Main office", pos_code="11")
    w.c1 = practitioner(w.org, "c1@riverside.example.org", "Rivera", npi="1234567893")
    w.c2 = practitioner(w.org, "c2@riverside.example.org", "Chen")
    w.staff = practitioner(w.org, "staff@riverside.example.org", "Okafor", role="staff")
    w.staff2 = practitioner(w.org, "staff2@riverside.example.org", "Nguyen", role="staff")
    w.outsider = practitioner(w.other_org, "out@hillside.example.org", "Hill")
    w.refills = create_pool(w.org, name="Refills", members=[w.staff])
    w.front = create_pool(w.org, name="Front desk", members=[w.staff, w.c2])
    w.patient = patient(w.org, "RFM-1001", "Lopez", "maria@example.com")
    w.other_patient = patient(w.org, "RFM-1002", "Smith", "robert@example.com")
    w.blocked_patient = patient(w.org, "RFM-1003", "Block", "blocked@example.com")
    w.unenrolled = patient(w.org, "RFM-1004", "Brown", "olivia@example.com", login=False)
    w.outside_patient = patient(w.other_org, "HP-2001", "Far", "far@example.com")
    visit(w.patient, w.c1, w.org, location=w.office)
    visit(w.other_patient, w.c2, w.org, location=w.office)
    visit(w.blocked_patient, w.c1, w.org, location=w.office)
    visit(w.unenrolled, w.c1, w.org, location=w.office)
    visit(w.outside_patient, w.outsider, w.other_org)
    accounts.block_portal_access(w.blocked_patient.user, actor=None, reason_code=BLOCK_REASON)
    w.blocked_patient.user.refresh_from_db()
    w.rep = representative(w.patient, "jane@example.com")
    w.expired_rep = representative(
        w.patient, "old.proxy@example.com", valid_until=timezone.now() - dt.timedelta(days=1)
    )
    return w


def make_admin(w: SimpleNamespace, clinician=None) -> None:
    """Make ``clinician`` (default c1) an administrator of Riverside."""
    membership = Membership.objects.get(practitioner=clinician or w.c1, organization=w.org)
    accounts.set_practice_admin(membership, True, actor=None)


def client_of(user) -> Client:
    """A test client signed in as ``user``."""
    client = Client()
    client.force_login(user)
    return client


# The subject and body of the question the messaging tests start most threads with.
DOSE_QUESTION = {"subject": "Question about my dose", "body": "Should I take it in the morning?"}


def patient_question(w: SimpleNamespace, user=None, **changes):
    """The patient (or ``user`` for them) asks c1 a medical question; returns the first message.

    ``changes`` replace any of the arguments of ``start_thread`` (subject, body, recipients...).
    """
    from carethread.messaging import actions

    args = dict(
        patient=w.patient,
        category="medical",
        subject="Dose question",
        body="Morning or evening?",
        to_practitioners=[w.c1],
    )
    args.update(changes)
    return actions.start_thread(user or w.patient.user, **args)


def answered_question(w: SimpleNamespace):
    """The patient asks c1 a question and c1 answers it; returns the answer."""
    from carethread.messaging import actions

    first = patient_question(w, subject="Dose")
    return actions.reply(w.c1.user, first.thread, body="Morning.", in_response_to=first)
