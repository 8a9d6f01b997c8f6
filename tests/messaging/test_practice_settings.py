"""Practice settings (administrators only), routing rules, templates and their rendering, pool
targets and out-of-office."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from carethread.audit.models import AuditEvent
from carethread.core.models import Membership, Organization
from carethread.messaging import actions, templates
from carethread.messaging import practice_settings as ps
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Message, OutOfOffice, RoutingRule, Template


@pytest.fixture
def admin(world):
    """c1 administers Riverside."""
    Membership.objects.filter(practitioner=world.c1, organization=world.org).update(is_admin=True)
    return world.c1.user


def refused(code, fn, *args, **kw):
    with pytest.raises(MessagingError) as err:
        fn(*args, **kw)
    assert err.value.code == code
    return err.value


# -- settings ---------------------------------------------------------------------------------


def test_each_changed_setting_is_audited_with_old_and_new_value(world, admin):
    ps.update_practice_settings(
        admin,
        world.org,
        ps.SettingsChange(
            messaging_enabled=False,
            expected_response_hours=48,
            reply_window_days=14,  # unchanged: not audited
        ),
    )
    org = Organization.objects.get(pk=world.org.pk)
    assert org.messaging_enabled is False and org.expected_response_hours == 48
    events = AuditEvent.objects.filter(action="setting.changed").order_by("seq")
    assert [e.details for e in events] == [
        {"field": "messaging_enabled", "old": True, "new": False},
        {"field": "expected_response_hours", "old": 72, "new": 48},
    ]
    for event in events:
        assert event.object_type == "core.organization"
        assert event.object_id == str(world.org.uuid)
        assert event.actor_id == admin.pk


def test_messaging_switch_leaves_one_entry_per_change(world, admin):
    ps.update_practice_settings(admin, world.org, ps.SettingsChange(messaging_enabled=False))
    ps.update_practice_settings(admin, world.org, ps.SettingsChange(messaging_enabled=False))
    ps.update_practice_settings(admin, world.org, ps.SettingsChange(messaging_enabled=True))
    values = [
        e.details["new"]
        for e in AuditEvent.objects.filter(
            action="setting.changed", object_id=str(world.org.uuid)
        ).order_by("seq")
        if e.details["field"] == "messaging_enabled"
    ]
    assert values == [False, True]


def test_switching_messaging_off_stops_patient_messages(world, admin):
    ps.update_practice_settings(admin, world.org, ps.SettingsChange(messaging_enabled=False))
    with pytest.raises(MessagingError):
        actions.start_thread(
            world.patient.user, patient=world.patient, category="medical", subject="Hi",
            body="Hello", to_pool=world.front,
        )  # fmt: skip


def test_only_administrators_change_settings(world, admin):
    for user in (world.c2.user, world.staff.user, world.patient.user, world.outsider.user):
        refused(
            "not_allowed",
            ps.update_practice_settings,
            user,
            world.org,
            ps.SettingsChange(auto_acknowledge=False),
        )
    # An administrator of one practice is not one of another.
    refused(
        "not_allowed",
        ps.update_practice_settings,
        admin,
        world.other_org,
        ps.SettingsChange(reply_window_days=3),
    )
    assert Organization.objects.get(pk=world.org.pk).auto_acknowledge is True
    assert not AuditEvent.objects.filter(action="setting.changed").exists()


@pytest.mark.parametrize(
    "field,value",
    [
        ("expected_response_hours", 0),
        ("expected_response_hours", 24 * 365),
        ("reply_window_days", -1),
        ("relationship_lookback_days", True),
        ("auto_acknowledge", "yes"),
    ],
)
def test_bad_values_change_nothing(world, admin, field, value):
    refused(
        "bad_setting",
        ps.update_practice_settings,
        admin,
        world.org,
        ps.SettingsChange(notify_sender_name=True, **{field: value}),
    )
    assert Organization.objects.get(pk=world.org.pk).notify_sender_name is False
    assert not AuditEvent.objects.filter(action="setting.changed").exists()


def test_pool_response_target(world, admin):
    ps.set_pool_response_target(admin, world.refills, 8)
    world.refills.refresh_from_db()
    assert world.refills.response_target_hours == 8
    event = AuditEvent.objects.get(action="setting.changed")
    assert event.object_id == str(world.refills.uuid)
    assert event.details == {"field": "response_target_hours", "old": None, "new": 8}
    message = actions.start_thread(
        world.patient.user, patient=world.patient, category="refill", subject="Refill",
        body="Please renew", to_pool=world.refills,
    )  # fmt: skip
    assert message.thread.reply_due_at == message.sent_at + dt.timedelta(hours=8)
    refused("bad_setting", ps.set_pool_response_target, admin, world.refills, 0)
    refused("not_allowed", ps.set_pool_response_target, world.staff.user, world.refills, 4)


# -- routing ----------------------------------------------------------------------------------


def test_set_and_delete_routing_rule(world, admin):
    rule = ps.set_routing_rule(admin, world.org, "refill", world.refills)
    assert rule.pool == world.refills
    ps.set_routing_rule(admin, world.org, "refill", world.front)
    assert RoutingRule.objects.get(organization=world.org, category="refill").pool == world.front
    assert ps.delete_routing_rule(admin, world.org, "refill") is True
    assert ps.delete_routing_rule(admin, world.org, "refill") is False
    assert not RoutingRule.objects.exists()
    actions_logged = list(
        AuditEvent.objects.filter(action__startswith="routing.").values_list("action", flat=True)
    )
    assert actions_logged == ["routing.set", "routing.set", "routing.delete"]


def test_routing_refusals(world, admin):
    from carethread.core.actions import create_pool

    foreign = create_pool(world.other_org, name="Theirs", members=[world.outsider])
    refused("bad_pool", ps.set_routing_rule, admin, world.org, "refill", foreign)
    refused("bad_category", ps.set_routing_rule, admin, world.org, "gossip", world.refills)
    refused(
        "not_allowed", ps.set_routing_rule, world.staff.user, world.org, "refill", world.refills
    )
    assert not RoutingRule.objects.exists()


# -- templates --------------------------------------------------------------------------------


def test_template_lifecycle(world, admin):
    template = ps.create_template(
        admin, world.org, name="Refill done", subject="Your refill",
        body="Hi {patient_first_name}, your refill is ready.", category="refill",
    )  # fmt: skip
    assert template.active
    refused(
        "template_name_taken", ps.create_template, admin, world.org, name="Refill done", body="x"
    )
    updated = ps.update_template(admin, template, ps.TemplateChange(body="Hello {patient_name}."))
    assert updated.body == "Hello {patient_name}."
    refused(
        "bad_template",
        ps.update_template,
        admin,
        template,
        ps.TemplateChange(body="Hi {patient.mrn}"),
    )
    ps.deactivate_template(admin, template)
    template.refresh_from_db()
    assert template.active is False
    codes = list(
        AuditEvent.objects.filter(action__startswith="template.").values_list("action", flat=True)
    )
    assert codes == ["template.create", "template.update", "template.deactivate"]
    assert (
        "refill"
        not in str(
            list(AuditEvent.objects.filter(action__startswith="template.").values("details"))
        ).lower()
    )


def test_templates_are_for_administrators(world, admin):
    refused("not_allowed", ps.create_template, world.staff.user, world.org, name="x", body="y")
    refused("bad_template", ps.create_template, admin, world.org, name="x", body="Hi {name}")
    refused("empty_body", ps.create_template, admin, world.org, name="x", body="  ")
    assert not Template.objects.exists()


def test_render_fills_the_placeholders(world, settings):
    settings.CARETHREAD_BASE_URL = "https://portal.example.org"
    template = Template(
        organization=world.org,
        name="t",
        subject="For {patient_first_name}",
        body=(
            "Dear {patient_name}, {clinician_name} at {practice_name} answers "
            "{expected_response}. {portal_url} {{literal}}"
        ),
    )
    rendered = templates.render(
        template, patient=world.patient, organization=world.org, clinician=world.c1
    )
    assert rendered.subject == "For Pat"
    assert rendered.body == (
        f"Dear Pat Lopez, {world.c1.display_name} at Riverside Family Medicine answers "
        "within 3 business days. https://portal.example.org/ {literal}"
    )


@pytest.mark.parametrize(
    "text",
    [
        "{unknown}",
        "{patient_name.__class__}",
        "{patient_name!r}",
        "{patient_name:>10}",
        "{0}",
        "{}",
        "{patient_name[0]}",
    ],
)
def test_unknown_placeholders_are_refused(world, text):
    with pytest.raises(MessagingError) as err:
        templates.check(text)
    assert err.value.code == "bad_template"


def test_values_are_not_expanded_again(world):
    world.patient.given_name = "{portal_url}"
    rendered = templates.render_text("", "Hi {patient_first_name}", {
        **templates.values_for(patient=world.patient, organization=world.org)
    })  # fmt: skip
    assert rendered.body == "Hi {portal_url}"


@pytest.mark.parametrize(
    "hours,text",
    [(72, "within 3 business days"), (24, "within 1 business day"), (4, "within 4 hours"),
     (1, "within 1 hour"), (36, "within 36 hours")],
)  # fmt: skip
def test_expected_response_wording(hours, text):
    assert templates.expected_response(hours) == text


# -- out of office ----------------------------------------------------------------------------


def period(start_days=0, end_days=3):
    now = timezone.now()
    return now + dt.timedelta(days=start_days), now + dt.timedelta(days=end_days)


def test_set_out_of_office_for_oneself_with_a_delegate(world):
    starts, ends = period(-1, 3)
    absence = ps.set_out_of_office(
        world.c1.user, starts_at=starts, ends_at=ends, reply_text="Away.", delegate=world.c2
    )
    assert absence.practitioner == world.c1 and absence.delegate == world.c2
    event = AuditEvent.objects.get(action="out_of_office.set")
    assert event.details["delegate"] == str(world.c2.uuid)
    assert "Away" not in str(event.details)
    # A new one replaces it.
    ps.set_out_of_office(world.c1.user, starts_at=starts, ends_at=ends)
    assert OutOfOffice.objects.filter(practitioner=world.c1).count() == 1
    # In force: a patient message to c1 gets the automatic reply.
    message = actions.start_thread(
        world.patient.user, patient=world.patient, category="medical", subject="Hi",
        body="Hello", to_practitioners=[world.c1],
    )  # fmt: skip
    keys = set(
        Message.objects.filter(thread=message.thread, is_automatic=True).values_list(
            "client_key", flat=True
        )
    )
    assert {k.split("-")[1] for k in keys} == {"ack", "ooo"}


def test_end_out_of_office(world):
    starts, ends = period(-1, 3)
    ps.set_out_of_office(world.c1.user, starts_at=starts, ends_at=ends)
    assert ps.end_out_of_office(world.c1.user) == 1
    absence = OutOfOffice.objects.get(practitioner=world.c1)
    assert absence.ends_at <= timezone.now()
    assert ps.current_out_of_office(world.c1.user) is None
    assert ps.end_out_of_office(world.c1.user) == 0
    # A future absence is dropped.
    starts, ends = period(2, 4)
    ps.set_out_of_office(world.c1.user, starts_at=starts, ends_at=ends)
    assert ps.end_out_of_office(world.c1.user) == 1
    assert not OutOfOffice.objects.filter(starts_at__gt=timezone.now()).exists()


def test_out_of_office_refusals(world):
    starts, ends = period(0, 3)
    refused("bad_delegate", ps.set_out_of_office, world.c1.user, starts_at=starts, ends_at=ends,
            delegate=world.outsider)  # fmt: skip
    refused("bad_delegate", ps.set_out_of_office, world.c1.user, starts_at=starts, ends_at=ends,
            delegate=world.c1)  # fmt: skip
    refused("bad_period", ps.set_out_of_office, world.c1.user, starts_at=ends, ends_at=starts)
    past_start, past_end = period(-5, -1)
    refused("bad_period", ps.set_out_of_office, world.c1.user, starts_at=past_start,
            ends_at=past_end)  # fmt: skip
    refused("too_long", ps.set_out_of_office, world.c1.user, starts_at=starts, ends_at=ends,
            reply_text="x" * 501)  # fmt: skip
    refused("not_allowed", ps.set_out_of_office, world.patient.user, starts_at=starts,
            ends_at=ends)  # fmt: skip
    assert not OutOfOffice.objects.exists()
