"""Writing checked Communications (inside the import's transaction): new threads, messages
(answered ones first, so ``in_response_to`` is set on insert), recipients and attachments with
multi-row inserts; changed messages with ``bulk_update``; then each touched thread's summary
(last message, awaiting reply) and the inbox rows of the logins that take part.

Bodies, subjects, file names and file bytes are encrypted per row, bound to the row's UUID
exactly as ``Model.seal`` binds them, under the data key that is current when the write starts
(read once: the key ring does not cache it inside a transaction).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from carethread.core.fhir_import.insert import insert_rows
from carethread.core.fhir_import.upsert import chunks
from carethread.core.models import CareTeamPool, Organization, Patient, Practitioner, Representative
from carethread.crypto import keyring
from carethread.crypto.aead import decrypt_value, encrypt_with
from carethread.messaging.fhir.communication import AttachmentIn, CommunicationRecord
from carethread.messaging.fhir.plan import MessagePlan, Party, ThreadPlan, order
from carethread.messaging.models import (
    Attachment,
    Message,
    Recipient,
    Side,
    Thread,
    ThreadMember,
)
from carethread.messaging.versions import bump_version

if TYPE_CHECKING:
    from django.db.models import Model

    from carethread.core.fhir_import.engine import Importer

DEFAULT_SUBJECT = "Secure message"
PATIENT_SIDE = frozenset(
    {Message.SenderKind.PATIENT.value, Message.SenderKind.REPRESENTATIVE.value}
)
WAS_SENT = frozenset({Message.Status.COMPLETED.value, Message.Status.ENTERED_IN_ERROR.value})
COMPLETED = Message.Status.COMPLETED.value
PRACTITIONER = Message.SenderKind.PRACTITIONER.value
MESSAGE_FIELDS = (
    "thread_id",
    "in_response_to_id",
    "status",
    "sender_kind",
    "sender_patient_id",
    "sender_representative_id",
    "sender_practitioner_id",
    "on_behalf_of_id",
    "sent_at",
)
RecipientRow = tuple[str, int | None, int | None, int | None, int | None]


class Sealer:
    """``model(uuid=row).seal(field, value)`` for many rows, under one data key."""

    def __init__(self) -> None:
        self.key_id, self.key = keyring.current_data_key()

    def __call__(self, model: type[Model], row: uuid.UUID, field: str, value: str | bytes) -> bytes:
        return encrypt_with(
            self.key_id, self.key, value, table=model._meta.db_table, row=row, field=field
        )


def unseal(model: type[Model], row: uuid.UUID, field: str, envelope: bytes | memoryview) -> bytes:
    return decrypt_value(envelope, table=model._meta.db_table, row=row, field=field)


class Writer:
    def __init__(self, records: list[CommunicationRecord], ctx: Importer) -> None:
        self.records = records
        self.ctx = ctx
        self.touched: set[int] = set()  # stored threads that gain or change messages
        self.thread_pk: dict[int, int] = {}  # id(ThreadPlan) -> thread row
        self.seal = Sealer()
        self.pks: dict[str, int] = {}

    def pk(self, ref: str) -> int:
        found = self.pks.get(ref)
        if found is None:
            found = self.pks[ref] = int(self.ctx.pk(ref))
        return found

    # -- references to rows --------------------------------------------------------------
    def practitioner(self, party: Party | None) -> int | None:
        if party is None or party.practitioner is None:
            return None
        who = party.practitioner
        return who if isinstance(who, int) else self.pk(who)

    def sender_ids(self, plan: MessagePlan) -> tuple[int | None, int | None, int | None]:
        sender = plan.sender
        if sender is None:
            return None, None, None
        if sender.kind == "patient":
            return self.pk(sender.ref), None, None
        if sender.kind == "representative":
            return None, self.pk(sender.ref), None
        return None, None, self.practitioner(sender)

    def recipient_rows(self, plan: MessagePlan, *, ordered: bool = False) -> list[RecipientRow]:
        """The message's ``Recipient`` rows (each addressee once; ``ordered`` to compare)."""
        rows: set[RecipientRow] = set()
        for party in plan.recipients:
            if party.kind == "practitioner":
                rows.add(("practitioner", None, None, self.practitioner(party), None))
            else:
                pk = self.pk(party.ref)
                rows.add(
                    (
                        party.kind,
                        pk if party.kind == "patient" else None,
                        pk if party.kind == "representative" else None,
                        None,
                        pk if party.kind == "pool" else None,
                    )
                )
        return sorted(rows, key=_row_order) if ordered else list(rows)

    def values(self, record: CommunicationRecord) -> tuple[Any, ...]:
        """The message row's ``MESSAGE_FIELDS`` (the thread of a stored message is kept)."""
        plan: MessagePlan = record.plan
        thread = plan.thread.stored or self.thread_pk.get(id(plan.thread))
        reply_to = self.pk(plan.reply_to) if plan.reply_to is not None else None
        return (
            thread,
            reply_to,
            record.status,
            plan.sender_kind,
            *self.sender_ids(plan),
            self.practitioner(plan.on_behalf_of),
            record.sent,
        )

    # -- the run -------------------------------------------------------------------------
    def run(self) -> tuple[int, int]:
        fresh = [r for r in self.records if r.plan.existing is None]
        for record in self.records:
            if record.plan.existing is not None:
                record.pk = record.plan.existing
        self.create_threads(fresh)
        self.create_messages(fresh)
        updated = self.update_messages([r for r in self.records if r.plan.existing is not None])
        self.ctx.advance(len(self.records))
        for record in fresh:
            if record.plan.thread.stored is not None:
                self.touched.add(record.plan.thread.stored)
        self.refresh_stored_threads()
        self.add_members([*fresh, *updated])
        return len(fresh), len(updated)

    # -- threads ---------------------------------------------------------------------------
    def create_threads(self, fresh: list[CommunicationRecord]) -> None:
        plans: dict[int, ThreadPlan] = {}
        for record in fresh:
            if record.plan.thread.stored is None:
                plans.setdefault(id(record.plan.thread), record.plan.thread)
        if not plans:
            return
        keys = sorted(p.key for p in plans.values())
        known: dict[str, int] = {}
        for part in chunks(keys):
            found = Thread.objects.filter(source_key__in=part).values_list("source_key", "pk")
            known.update((str(key), pk) for key, pk in found)
        tins = sorted({p.tin for p in plans.values() if p.tin})
        orgs: dict[str, int] = {}
        hours: dict[int, int] = {}
        for tin, pk, expected in Organization.objects.filter(tin__in=tins).values_list(
            "tin", "pk", "expected_response_hours"
        ):
            orgs[tin], hours[pk] = pk, expected
        pool_pks = {p.pool: self.pk(p.pool) for p in plans.values() if p.pool}
        pool_hours = dict(
            CareTeamPool.objects.filter(pk__in=list(pool_pks.values())).values_list(
                "pk", "response_target_hours"
            )
        )
        rows = []
        for plan in plans.values():
            if plan.key in known:
                self.thread_pk[id(plan)] = known[plan.key]
                self.touched.add(known[plan.key])
                continue
            assert plan.tin is not None
            first = plan.records[0]
            lead: MessagePlan = first.plan
            org = orgs[plan.tin]
            pool = pool_pks[plan.pool] if plan.pool else None
            clinical = lead.sender_kind == PRACTITIONER and any(
                p.kind == "practitioner" for p in lead.recipients
            )
            started_by = _side(lead.sender_kind)
            assignee = None
            if started_by == Side.PRACTICE and not clinical and lead.sender is not None:
                assignee = self.practitioner(lead.on_behalf_of or lead.sender)
            created = first.sent or self.ctx.now
            last, awaiting = summarise((r.sent, r.status, r.plan.sender_kind) for r in plan.records)
            target = pool_hours.get(pool) if pool else None
            due = awaiting + dt.timedelta(hours=target or hours[org]) if awaiting else None
            subject = next((r.topic for r in plan.records if r.topic), "") or DEFAULT_SUBJECT
            row_uuid = uuid.uuid4()
            rows.append(
                (
                    row_uuid,
                    plan.key,
                    org,
                    self.pk(plan.patient),
                    Thread.Kind.CLINICAL if clinical else Thread.Kind.PATIENT,
                    first.category,
                    self.seal(Thread, row_uuid, "subject_ct", subject),
                    started_by,
                    any(_includes_patient(r.plan) for r in plan.records),
                    pool,
                    assignee,
                    created,
                    last or created,
                    awaiting,
                    due,
                )
            )
        columns = (
            "uuid",
            "source_key",
            "organization_id",
            "patient_id",
            "kind",
            "category",
            "subject_ct",
            "started_by",
            "includes_patient",
            "pool_id",
            "assignee_id",
            "created_at",
            "last_message_at",
            "awaiting_reply_since",
            "reply_due_at",
        )
        by_key = {p.key: p for p in plans.values()}
        for pk, key in insert_rows(Thread, columns, rows, returning="source_key"):
            self.thread_pk[id(by_key[key])] = pk

    # -- messages --------------------------------------------------------------------------
    def create_messages(self, fresh: list[CommunicationRecord]) -> None:
        columns = ("uuid", "source_key", "identifier", *MESSAGE_FIELDS, "body_ct", "created_at")
        levels: dict[int, list[CommunicationRecord]] = defaultdict(list)
        for record in fresh:
            levels[record.plan.level].append(record)
        for level in sorted(levels):
            batch = sorted(levels[level], key=order)
            rows = []
            for record in batch:
                row_uuid = uuid.uuid4()
                rows.append(
                    (
                        row_uuid,
                        record.key,
                        record.message_identifier,
                        *self.values(record),
                        self.seal(Message, row_uuid, "body_ct", record.body),
                        record.sent or self.ctx.now,
                    )
                )
            by_key = {r.key: r for r in batch}
            for pk, key in insert_rows(Message, columns, rows, returning="source_key"):
                by_key[key].pk = pk
        recipients = [(r.pk, *row) for r in fresh for row in self.recipient_rows(r.plan)]
        insert_rows(Recipient, RECIPIENT_COLUMNS, recipients)
        self.create_attachments([(r.pk, a) for r in fresh for a in r.attachments])

    def create_attachments(self, items: Iterable[tuple[int | None, AttachmentIn]]) -> None:
        rows = []
        for message_id, item in items:
            row_uuid = uuid.uuid4()
            data = item.data if item.data is not None else b""
            rows.append(
                (
                    row_uuid,
                    message_id,
                    item.content_type,
                    len(data),
                    self.seal(Attachment, row_uuid, "filename_ct", item.title),
                    self.seal(Attachment, row_uuid, "data_ct", data),
                    self.ctx.now,
                )
            )
        columns = (
            "uuid",
            "message_id",
            "content_type",
            "size",
            "filename_ct",
            "data_ct",
            "created_at",
        )
        insert_rows(Attachment, columns, rows)

    def update_messages(self, matched: list[CommunicationRecord]) -> list[CommunicationRecord]:
        """Rewrite stored messages whose content differs from the input; the rest stay as they
        are (a stored message keeps its thread)."""
        if not matched:
            return []
        by_pk = {r.plan.existing: r for r in matched if r.plan.existing is not None}
        stored: dict[int, tuple[Any, ...]] = {}
        for part in chunks(sorted(by_pk)):
            rows = Message.objects.filter(pk__in=part).values_list(
                "pk", "uuid", *MESSAGE_FIELDS, "body_ct"
            )
            stored.update((row[0], row[1:]) for row in rows)
        recipients = _stored_recipients(sorted(by_pk))
        attachments = _stored_attachments(sorted(by_pk))
        changed: list[Message] = []
        new_recipients: list[tuple[Any, ...]] = []
        new_attachments: list[tuple[int | None, AttachmentIn]] = []
        redo_recipients: list[int] = []
        redo_attachments: list[int] = []
        updated: list[CommunicationRecord] = []
        for pk, record in by_pk.items():
            row_uuid, *fields_and_body = stored[pk]
            old_fields, old_body = tuple(fields_and_body[:-1]), fields_and_body[-1]
            thread_id = old_fields[0]
            new_fields = (thread_id, *self.values(record)[1:])
            body = unseal(Message, row_uuid, "body_ct", old_body).decode("utf-8")
            addressees = self.recipient_rows(record.plan, ordered=True)
            wanted_files = sorted(_signature(a) for a in record.attachments)
            differs = new_fields != old_fields or body != record.body
            if addressees != recipients.get(pk, []):
                redo_recipients.append(pk)
                new_recipients.extend((pk, *row) for row in addressees)
            if wanted_files != attachments.get(pk, []):
                redo_attachments.append(pk)
                new_attachments.extend((pk, a) for a in record.attachments)
            if differs:
                message = Message(
                    pk=pk, uuid=row_uuid, **dict(zip(MESSAGE_FIELDS, new_fields, strict=True))
                )
                message.body_ct = self.seal(Message, row_uuid, "body_ct", record.body)
                changed.append(message)
            if differs or pk in redo_recipients or pk in redo_attachments:
                updated.append(record)
                self.touched.add(thread_id)
        if changed:
            Message.objects.bulk_update(changed, [*MESSAGE_FIELDS[1:], "body_ct"], batch_size=500)
        for part in chunks(redo_recipients):
            Recipient.objects.filter(message_id__in=part).delete()
        insert_rows(Recipient, RECIPIENT_COLUMNS, new_recipients)
        for part in chunks(redo_attachments):
            Attachment.objects.filter(message_id__in=part).delete()
        self.create_attachments(new_attachments)
        return updated

    # -- thread summaries and inbox rows -----------------------------------------------------
    def refresh_stored_threads(self) -> None:
        """Recompute the summary of stored threads that gained or changed messages."""
        if not self.touched:
            return
        history: dict[int, list[tuple[Any, str, str]]] = defaultdict(list)
        flags: dict[int, bool] = defaultdict(bool)
        for part in chunks(sorted(self.touched)):
            rows = Message.objects.filter(thread_id__in=part).values_list(
                "thread_id", "sent_at", "status", "sender_kind"
            )
            for thread_id, sent, status, kind in rows:
                history[thread_id].append((sent, status, kind))
                flags[thread_id] |= kind in PATIENT_SIDE
            patient_side = Recipient.objects.filter(
                message__thread_id__in=part, kind__in=["patient", "representative"]
            ).values_list("message__thread_id", flat=True)
            for thread_id in patient_side:
                flags[thread_id] = True
        threads = Thread.objects.filter(pk__in=sorted(self.touched)).select_related(
            "organization", "pool"
        )
        for thread in threads:
            last, awaiting = summarise(history[thread.pk])
            hours = (
                thread.pool.response_target_hours
                if thread.pool and thread.pool.response_target_hours
                else thread.organization.expected_response_hours
            )
            new: dict[str, Any] = {
                "last_message_at": last or thread.last_message_at,
                "awaiting_reply_since": awaiting,
                "reply_due_at": awaiting + dt.timedelta(hours=hours) if awaiting else None,
                "includes_patient": thread.includes_patient or flags[thread.pk],
            }
            if any(getattr(thread, name) != value for name, value in new.items()):
                bump_version(thread, **new)
                if new["last_message_at"] != thread.last_message_at:
                    ThreadMember.objects.filter(thread_id=thread.pk).update(
                        last_message_at=new["last_message_at"]
                    )

    def add_members(self, records: list[CommunicationRecord]) -> None:
        """Inbox rows for the logins that take part: senders, addressees, members of addressed
        pools and, when the thread includes the patient side, the patient and the
        representatives valid now (as a live message would). History arrives read."""
        wanted: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        for record in records:
            plan: MessagePlan = record.plan
            thread = plan.thread.stored or self.thread_pk[id(plan.thread)]
            people = wanted[thread]
            for party in (plan.sender, plan.on_behalf_of, *plan.recipients):
                if party is None:
                    continue
                if party.kind == "practitioner":
                    people["practitioner"].add(self.practitioner(party) or 0)
                else:
                    people[party.kind].add(self.pk(party.ref))
        threads: dict[int, tuple[int, bool, dt.datetime]] = {}
        for part in chunks(sorted(wanted)):
            rows = Thread.objects.filter(pk__in=part).values_list(
                "pk", "patient_id", "includes_patient", "last_message_at"
            )
            threads.update((pk, (patient, includes, last)) for pk, patient, includes, last in rows)
        reps = self.valid_representatives({p for p, includes, _ in threads.values() if includes})
        for thread, (patient, includes, _last) in threads.items():
            if includes:
                wanted[thread]["patient"].add(patient)
                wanted[thread]["representative"].update(reps.get(patient, ()))
        users = _users(wanted)
        members_rows = [
            ThreadMember(
                thread_id=thread,
                user_id=user,
                side=side,
                unread=0,
                last_read_at=threads[thread][2],
                last_message_at=threads[thread][2],
            )
            for thread, members in users.items()
            for user, side in sorted(members.items())
            if side == Side.PRACTICE or threads[thread][1]
        ]
        ThreadMember.objects.bulk_create(members_rows, ignore_conflicts=True, batch_size=1000)

    def valid_representatives(self, patients: set[int]) -> dict[int, list[int]]:
        """Patient -> representatives with a login whose authorisation is valid now."""
        found: dict[int, list[int]] = defaultdict(list)
        for part in chunks(sorted(patients)):
            rows = Representative.objects.filter(patient_id__in=part, user__isnull=False)
            for rep in rows:
                if rep.is_valid_at(self.ctx.now):
                    found[rep.patient_id].append(rep.pk)
        return found


RECIPIENT_COLUMNS = (
    "message_id",
    "kind",
    "patient_id",
    "representative_id",
    "practitioner_id",
    "pool_id",
)


def write(records: list[CommunicationRecord], ctx: Importer) -> tuple[int, int]:
    return Writer(records, ctx).run()


def summarise(
    messages: Iterable[tuple[dt.datetime | None, str, str]],
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(last message time, awaiting reply since) as the live system keeps them: the last sent
    message (retracted ones included); the oldest completed patient-side message that no
    completed practice message followed."""
    sent = sorted((m[0], m[1], m[2]) for m in messages if m[0] is not None and m[1] in WAS_SENT)
    awaiting = None
    for when, status, kind in sent:
        if status != COMPLETED:
            continue
        if kind in PATIENT_SIDE:
            awaiting = awaiting or when
        elif kind == PRACTITIONER:
            awaiting = None
    return (sent[-1][0] if sent else None), awaiting


def _side(sender_kind: str) -> str:
    if sender_kind == Message.SenderKind.PATIENT:
        return Side.PATIENT
    if sender_kind == Message.SenderKind.REPRESENTATIVE:
        return Side.REPRESENTATIVE
    return Side.PRACTICE


def _includes_patient(plan: MessagePlan) -> bool:
    return plan.sender_kind in PATIENT_SIDE or any(
        p.kind in ("patient", "representative") for p in plan.recipients
    )


def _signature(item: AttachmentIn) -> tuple[str, int, str, str]:
    data = item.data if item.data is not None else b""
    return (item.content_type, len(data), item.title, hashlib.sha256(data).hexdigest())


def _stored_recipients(message_ids: list[int]) -> dict[int, list[RecipientRow]]:
    found: dict[int, list[RecipientRow]] = defaultdict(list)
    for part in chunks(message_ids):
        rows = Recipient.objects.filter(message_id__in=part).values_list(
            "message_id", *RECIPIENT_COLUMNS[1:]
        )
        for message_id, *row in rows:
            found[message_id].append((row[0], row[1], row[2], row[3], row[4]))
    return {k: sorted(set(v), key=_row_order) for k, v in found.items()}


def _row_order(row: RecipientRow) -> tuple[str, int, int, int, int]:
    return (row[0], row[1] or 0, row[2] or 0, row[3] or 0, row[4] or 0)


def _stored_attachments(message_ids: list[int]) -> dict[int, list[tuple[str, int, str, str]]]:
    found: dict[int, list[tuple[str, int, str, str]]] = defaultdict(list)
    for part in chunks(message_ids):
        rows = Attachment.objects.filter(message_id__in=part).values_list(
            "message_id", "uuid", "content_type", "filename_ct", "data_ct"
        )
        for message_id, row_uuid, kind, name, data in rows:
            title = unseal(Attachment, row_uuid, "filename_ct", name).decode("utf-8")
            raw = unseal(Attachment, row_uuid, "data_ct", data)
            found[message_id].append((kind, len(raw), title, hashlib.sha256(raw).hexdigest()))
    return {k: sorted(v) for k, v in found.items()}


def _users(wanted: dict[int, dict[str, set[int]]]) -> dict[int, dict[int, str]]:
    """Thread -> {user id: side} for the participants that have logins."""
    ids: dict[str, set[int]] = defaultdict(set)
    for people in wanted.values():
        for kind, pks in people.items():
            ids[kind] |= pks
    login: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    through = CareTeamPool.members.through.objects
    sources: dict[str, Any] = {
        "practitioner": lambda part: Practitioner.objects.filter(
            pk__in=part, user__isnull=False
        ).values_list("pk", "user_id"),
        "pool": lambda part: through.filter(
            careteampool_id__in=part, practitioner__user__isnull=False
        ).values_list("careteampool_id", "practitioner__user_id"),
        "patient": lambda part: Patient.objects.filter(pk__in=part, user__isnull=False).values_list(
            "pk", "user_id"
        ),
        "representative": lambda part: Representative.objects.filter(
            pk__in=part, user__isnull=False
        ).values_list("pk", "user_id"),
    }
    for kind, query in sources.items():
        for part in chunks(sorted(ids[kind])):
            for pk, user in query(part):
                login[kind][pk].append(user)
    sides = {
        "practitioner": Side.PRACTICE,
        "pool": Side.PRACTICE,
        "patient": Side.PATIENT,
        "representative": Side.REPRESENTATIVE,
    }
    found: dict[int, dict[int, str]] = {}
    for thread, people in wanted.items():
        members: dict[int, str] = {}
        for kind, pks in people.items():
            for pk in pks:
                for user in login[kind].get(pk, ()):
                    members.setdefault(user, sides[kind])
        if members:
            found[thread] = members
    return found
