"""Lists apply exactly the rule of the access gate.

An inbox row (``ThreadMember``) is a record of having taken part, never a right: every box, every
filter and every unread count shows a thread only when ``access_thread`` would open it. Checked
for a staff member who is also a representative whose authorisation ended (the rows stay, the
rights go), then, property-style, for many combinations of roles and stale inbox rows against the
gate and against the rule as docs/messaging.md states it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.http import Http404
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.world import PASSWORD, patient, representative, visit

from carethread.accounts import actions as accounts
from carethread.api import actions as api_actions
from carethread.core.models import Membership, Practitioner, Representative
from carethread.messaging import actions, queries
from carethread.messaging.access import access_thread, viewer_for
from carethread.messaging.models import Side, Thread, ThreadMember

pytestmark = pytest.mark.django_db

BOXES = ("mine", "assigned", "all")


def token_client(user) -> Client:
    _row, raw = api_actions.create_token(user, "script")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def listed_ids(viewer, **kw) -> set[int]:
    return {
        row.thread.pk
        for row in queries.inbox(viewer, queries.InboxFilter(**kw), limit=queries.MAX_PAGE)
    }


def opens(user, thread: Thread) -> bool:
    try:
        access_thread(user, thread.uuid)
    except Http404:
        return False
    return True


# -- the reported case ---------------------------------------------------------------------------


def test_staff_member_whose_representation_ended_no_longer_lists_the_threads(world):
    """staff2 (staff at Riverside, in no pool) was also the patient's representative."""
    rep = Representative.objects.create(
        patient=world.patient,
        family_name="Nguyen",
        given_name="Dr",
        email="staff2@riverside.example.org",
        relationship="SPS",
        valid_from=timezone.now() - dt.timedelta(days=30),
        consent_given_at=timezone.now() - dt.timedelta(days=30),
        user=world.staff2.user,
    )
    first = actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="medical",
        subject="Knee pain after running",
        body="It hurts.",
        to_practitioners=[world.c1],
    )
    thread = first.thread
    member = ThreadMember.objects.get(thread=thread, user=world.staff2.user)
    assert member.side == Side.REPRESENTATIVE and member.unread > 0
    Representative.objects.filter(pk=rep.pk).update(
        valid_until=timezone.now() - dt.timedelta(days=1)
    )

    user = world.staff2.user
    assert not opens(user, thread)
    viewer = viewer_for(user)
    for box in BOXES:
        assert listed_ids(viewer, box=box) == set(), box
    assert listed_ids(viewer, box="patient", patient=world.patient.uuid) == set()
    assert listed_ids(viewer, box="mine", unread=True) == set()
    assert queries.unread_total(viewer) == 0

    api = token_client(user)
    for box in BOXES:
        body = api.get("/api/threads", {"box": box}).json()
        assert body["threads"] == [] and body["unread_total"] == 0, box

    client = Client()
    client.force_login(user)
    page = client.get("/messages/").content.decode()
    assert "Knee pain" not in page and "Lopez" not in page


def test_staff_member_who_is_a_current_representative_opens_and_lists_alike(world):
    """While the authorisation holds, the same person lists and opens the patient's shared
    threads as their representative (not as practice staff: no notes, no handling)."""
    Representative.objects.create(
        patient=world.patient,
        family_name="Nguyen",
        given_name="Dr",
        email="staff2@riverside.example.org",
        relationship="SPS",
        valid_from=timezone.now() - dt.timedelta(days=30),
        consent_given_at=timezone.now() - dt.timedelta(days=30),
        user=world.staff2.user,
    )
    shared = _ask(world, "Shared").thread
    private = _ask(world, "Private", private=True).thread
    user = world.staff2.user
    assert opens(user, shared) and not opens(user, private)
    thread, viewer = access_thread(user, shared.uuid)
    assert viewer.side_for(thread) == Side.REPRESENTATIVE
    assert queries.thread_view(thread, viewer).notes == []
    assert listed_ids(viewer_for(user), box="mine") == {shared.pk}
    assert listed_ids(viewer_for(user), box="all") == {shared.pk}
    assert token_client(user).post(f"/api/threads/{shared.uuid}/claim").status_code == 404


def _ask(world, subject, *, private=False, to_pool=None):
    return actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="medical",
        subject=subject,
        body="A question.",
        to_practitioners=[] if to_pool else [world.c1],
        to_pool=to_pool,
        private=private,
    )


# -- many role combinations ----------------------------------------------------------------------

PRACTICE = (
    None,
    "clinician",  # clinician at Riverside, in no pool
    "staff-in-pool",  # staff at Riverside, member of Refills
    "staff-no-pool",
    "admin-only",  # staff at Riverside, administrator, in no pool
    "other-practice",  # clinician at Hillside
    "left",  # membership at Riverside no longer active
    "inactive-practitioner",
)
REPRESENTATION = (None, "valid", "expired", "future", "no-consent", "inactive")


@dataclass(frozen=True)
class Roles:
    practice: str | None
    representation: str | None
    is_patient: bool
    assigned: bool  # the assignee of the "assigned" thread
    rows: tuple[tuple[int, str, int], ...] = ()  # (thread index, side, unread): stale or not


@dataclass
class Scene:
    """The world and a set of threads covering every branch of the rule."""

    world: object
    threads: list[Thread]
    assigned: Thread


def _scene(world) -> Scene:
    w = world
    to_c1 = _ask(w, "To c1").thread
    private = _ask(w, "Private", private=True).thread
    pool = _ask(w, "Refills", to_pool=w.refills).thread
    front = _ask(w, "Front desk", to_pool=w.front).thread
    clinical = actions.start_thread(
        w.c1.user,
        patient=w.patient,
        category="medical",
        subject="Between colleagues",
        body="Labs?",
        to_practitioners=[w.c2],
        include_patient=False,
    ).thread
    other = actions.start_thread(
        w.other_patient.user,
        patient=w.other_patient,
        category="medical",
        subject="Other patient",
        body="Hello",
        to_practitioners=[w.c2],
    ).thread
    outside = actions.start_thread(
        w.outside_patient.user,
        patient=w.outside_patient,
        category="medical",
        subject="Elsewhere",
        body="Hello",
        to_practitioners=[w.outsider],
    ).thread
    assigned = _ask(w, "Assigned").thread
    threads = [to_c1, private, pool, front, clinical, other, outside, assigned]
    return Scene(world=w, threads=threads, assigned=assigned)


_counter = itertools.count()


def _person(scene: Scene, roles: Roles):
    """A new login holding ``roles``; returns (user, own patient threads, practitioner)."""
    w = scene.world
    n = next(_counter)
    email = f"person{n}@example.org"
    practitioner = None
    if roles.practice is not None:
        org = w.other_org if roles.practice == "other-practice" else w.org
        practitioner = Practitioner.objects.create(
            family_name=f"Person{n}", given_name="Alex", email=email
        )
        Membership.objects.create(
            practitioner=practitioner,
            organization=org,
            role="clinician" if roles.practice in ("clinician", "other-practice") else "staff",
            is_admin=roles.practice == "admin-only",
            active=roles.practice != "left",
        )
        if roles.practice == "staff-in-pool":
            w.refills.members.add(practitioner)
        if roles.practice == "inactive-practitioner":
            Practitioner.objects.filter(pk=practitioner.pk).update(active=False)
            practitioner.refresh_from_db()
    own_patient = None
    if roles.is_patient:
        own_patient = patient(w.org, f"RFM-9{n:04d}", f"Self{n}", email, login=False)
        visit(own_patient, w.c1, w.org)
    user = accounts.create_user(email, PASSWORD, practitioner=practitioner, patient=own_patient)
    if practitioner is not None:
        TOTP.activate(user, generate_totp_secret())
    if roles.representation is not None:
        rep = representative(w.patient, email, login=False)
        now = timezone.now()
        changes: dict = {"user": user}
        if roles.representation == "expired":
            changes["valid_until"] = now - dt.timedelta(hours=1)
        elif roles.representation == "future":
            changes["valid_from"] = now + dt.timedelta(days=1)
        elif roles.representation == "no-consent":
            changes["consent_given_at"] = None
        elif roles.representation == "inactive":
            changes["active"] = False
        Representative.objects.filter(pk=rep.pk).update(**changes)
    own: list[Thread] = []
    if own_patient is not None:
        own_patient.refresh_from_db()
        for private in (False, True):
            thread = actions.start_thread(
                w.c1.user,
                patient=own_patient,
                category="medical",
                subject="To you",
                body="Hi",
                rate_limit=False,
            ).thread
            Thread.objects.filter(pk=thread.pk).update(private_from_representatives=private)
            own.append(thread)
        own.append(
            actions.start_thread(
                w.c1.user,
                patient=own_patient,
                category="medical",
                subject="About them",
                body="Labs?",
                to_practitioners=[w.c2],
                include_patient=False,
                rate_limit=False,
            ).thread
        )
    Thread.objects.filter(pk=scene.assigned.pk).update(
        assignee=practitioner if roles.assigned else None
    )
    for index, side, unread in roles.rows:
        thread = (scene.threads + own)[index % len(scene.threads + own)]
        ThreadMember.objects.update_or_create(
            thread=thread,
            user=user,
            defaults={"side": side, "unread": unread, "last_message_at": thread.last_message_at},
        )
    return user, own, practitioner


def refills_pk(thread: Thread) -> int:
    return thread.organization.pools.get(name="Refills").pk


def _stated_rule(user, practitioner, roles: Roles, thread: Thread) -> bool:
    """The rule of docs/messaging.md, written independently of the code under test."""
    thread.refresh_from_db()
    if thread.includes_patient:
        if roles.is_patient and thread.patient_id == user.patient.pk:
            return True
        if (
            roles.representation == "valid"
            and thread.patient.mrn == "RFM-1001"  # the represented patient
            and not thread.private_from_representatives
        ):
            return True
    if roles.practice in ("clinician", "staff-in-pool", "staff-no-pool", "admin-only"):
        if thread.organization.tin != "271234567":
            return False
        if roles.assigned and thread.assignee_id == practitioner.pk:
            return True
        if roles.practice == "staff-in-pool" and thread.pool_id == refills_pk(thread):
            return True
        return ThreadMember.objects.filter(thread=thread, user=user, side=Side.PRACTICE).exists()
    if roles.practice == "other-practice":
        if thread.organization.tin != "271234568":
            return False
        if roles.assigned and thread.assignee_id == practitioner.pk:
            return True
        return ThreadMember.objects.filter(thread=thread, user=user, side=Side.PRACTICE).exists()
    return False


def _check(scene: Scene, roles: Roles, *, http: bool = False) -> None:
    user, own, practitioner = _person(scene, roles)
    candidates = scene.threads + own
    viewer = viewer_for(user)
    listed = {box: listed_ids(viewer, box=box) for box in BOXES}
    by_patient = listed_ids(viewer, box="patient", patient=scene.world.patient.uuid)
    pools = {
        pool.uuid: listed_ids(viewer, box="pool", pool=pool.uuid)
        for pool in (scene.world.refills, scene.world.front)
    }
    known = {t.pk for t in candidates}
    extra = set().union(*listed.values(), by_patient, *pools.values()) - known
    candidates += list(Thread.objects.filter(pk__in=extra))

    gate = {t.pk for t in candidates if opens(user, t)}
    stated = {t.pk for t in candidates if _stated_rule(user, practitioner, roles, t)}
    assert gate == stated, (roles, gate ^ stated)

    rows = dict(ThreadMember.objects.filter(user=user).values_list("thread_id", "unread"))
    assert listed["all"] == gate, roles
    assert listed["mine"] == gate & set(rows), roles
    # "Assigned to me" is a practice user's box: a practitioner who holds no active membership
    # (who left the practice) has none, even where another role opens the thread.
    assigned = set(
        Thread.objects.filter(pk__in=known | extra, assignee=practitioner).values_list(
            "pk", flat=True
        )
    ) if viewer.practitioner is not None else set()  # fmt: skip
    assert listed["assigned"] == gate & assigned, roles
    assert by_patient == {
        t.pk for t in candidates if t.pk in gate and t.patient_id == scene.world.patient.pk
    }, roles
    pool_ids = set(viewer.pool_ids)
    for pool in (scene.world.refills, scene.world.front):
        expected = {t.pk for t in candidates if t.pk in gate and t.pool_id == pool.pk}
        assert pools[pool.uuid] == (expected if pool.pk in pool_ids else set()), roles
    unread_rows = {pk for pk, n in rows.items() if n > 0}
    assert listed_ids(viewer, box="mine", unread=True) == gate & unread_rows, roles
    assert listed_ids(viewer, box="all", unread=True) == gate & unread_rows, roles
    assert listed_ids(viewer, box="all", unread=False) == gate - unread_rows, roles
    total = sum(n for pk, n in rows.items() if pk in gate)
    assert queries.unread_total(viewer) == total, roles

    if http:
        api = token_client(user)
        for box in BOXES:
            body = api.get("/api/threads", {"box": box, "limit": 200}).json()
            uuids = {t["uuid"] for t in body["threads"]}
            assert uuids == {str(t.uuid) for t in candidates if t.pk in listed[box]}, (roles, box)
            assert body["unread_total"] == total, roles
        client = Client()
        client.force_login(user)
        page = client.get("/messages/")
        assert page.status_code == 200, roles
        links = set(re.findall(r"/messages/([0-9a-f-]{36})/", page.content.decode()))
        box = "mine" if viewer.is_practice else "all"
        assert links == {str(t.uuid) for t in candidates if t.pk in listed[box]}, roles


PAT, REP, PRA = Side.PATIENT, Side.REPRESENTATIVE, Side.PRACTICE
NAMED = {
    "patient": Roles(None, None, True, False),
    "outsider patient": Roles(None, None, True, False, ((0, PAT, 2), (5, PAT, 1))),
    "representative, current": Roles(None, "valid", False, False, ((0, REP, 1),)),
    "representative, expired": Roles(None, "expired", False, False, ((0, REP, 1), (1, REP, 1))),
    "representative, private thread": Roles(None, "valid", False, False, ((1, REP, 3),)),
    "staff in pool": Roles("staff-in-pool", None, False, False, ((2, PRA, 1),)),
    "staff outside the pool": Roles("staff-no-pool", None, False, False, ((2, PRA, 0),)),
    "clinician participant": Roles("clinician", None, False, False, ((0, PRA, 2),)),
    "clinician of another practice": Roles(
        "other-practice", None, False, True, ((0, PRA, 2), (6, PRA, 1))
    ),
    "admin-only": Roles("admin-only", None, False, False, ((4, PAT, 1),)),
    "assignee": Roles("staff-no-pool", None, False, True),
    "left the practice": Roles("left", None, False, True, ((0, PRA, 1),)),
    "left the practice, still the assignee, now a representative": Roles(
        "left", "valid", False, True
    ),
    "inactive practitioner": Roles("inactive-practitioner", None, False, True, ((0, PRA, 1),)),
    "staff and expired representative": Roles(
        "staff-no-pool", "expired", False, False, ((0, REP, 1),)
    ),
    "staff and current representative": Roles(
        "staff-no-pool", "valid", False, False, ((0, REP, 1), (1, REP, 1))
    ),
    "clinician, patient and representative": Roles(
        "clinician", "valid", True, True, ((0, PRA, 1), (8, PAT, 2))
    ),
    "staff who is a patient of the practice": Roles("staff-in-pool", None, True, False),
}


def test_named_role_combinations_list_what_the_gate_opens(world):
    scene = _scene(world)
    for name, roles in NAMED.items():
        try:
            _check(scene, roles, http=True)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc


ROLES = st.builds(
    Roles,
    practice=st.sampled_from(PRACTICE),
    representation=st.sampled_from(REPRESENTATION),
    is_patient=st.booleans(),
    assigned=st.booleans(),
    rows=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=10),
            st.sampled_from([Side.PATIENT, Side.REPRESENTATIVE, Side.PRACTICE]),
            st.integers(min_value=0, max_value=3),
        ),
        max_size=6,
    ).map(tuple),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(roles=ROLES)
def test_any_role_combination_lists_what_the_gate_opens(scene_world, roles):
    _check(scene_world, roles)


@pytest.fixture
def scene_world(world):
    return _scene(world)
