"""Cross-record checks of the Communications of one import, and the plan ``write`` carries out.

* **People.** A Patient sender or recipient must be the subject; a RelatedPerson must represent
  the subject; a PractitionerRole stands for its practitioner. On-behalf-of is read only for a
  practitioner sender and must name someone else.
* **Existing rows.** A message is matched by its identifier, else by its source key; matching
  two different stored messages is an error.
* **Threads.** Messages linked by ``inResponseTo`` or ``partOf``, or about the same patient
  with the same ``topic.text``, share a thread; otherwise a message starts its own. A group
  that reaches a stored message joins that message's thread. All messages of a thread are about
  one patient. ``inResponseTo`` may not loop.
* **Organisation of a new thread.** The practice of a practitioner on the thread (sender,
  on-behalf-of, recipients; a PractitionerRole's own practice) where the patient was seen — the
  most recent visit at or before the first message wins; else the practice of the first pool
  addressed; else the patient's managing organisation; else the only practice of the thread's
  practitioners. Otherwise the thread's organisation is unknown: an error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from carethread.core.fhir_import.upsert import chunks
from carethread.messaging.fhir.communication import ON_BEHALF_OF, CommunicationRecord
from carethread.messaging.fhir.facts import Facts, PractitionerKey
from carethread.messaging.fhir.refs import ref_type
from carethread.messaging.models import Message, Thread

if TYPE_CHECKING:
    from carethread.core.fhir_import.engine import Importer

Problems = list[tuple[CommunicationRecord, str]]
_LATEST = dt.datetime.max.replace(tzinfo=dt.UTC)
SENDER_KIND = {
    "patient": Message.SenderKind.PATIENT.value,
    "representative": Message.SenderKind.REPRESENTATIVE.value,
    "practitioner": Message.SenderKind.PRACTITIONER.value,
}
RECIPIENT_KIND = {
    "Patient": "patient",
    "RelatedPerson": "representative",
    "Practitioner": "practitioner",
    "PractitionerRole": "practitioner",
    "Group": "pool",
}


@dataclass(slots=True)
class Party:
    """A sender or recipient: its kind, the reference, and for practitioners who it is and
    which practices it may speak for."""

    kind: str
    ref: str
    practitioner: PractitionerKey | None = None
    tins: frozenset[str] = frozenset()


@dataclass(eq=False)
class ThreadPlan:
    """A stored thread (``stored``) or one to create (``key`` = its source key)."""

    key: str
    patient: str
    stored: int | None = None
    tin: str | None = None
    pool: str | None = None
    records: list[CommunicationRecord] = field(default_factory=list)


@dataclass(slots=True)
class MessagePlan:
    thread: ThreadPlan
    sender_kind: str
    sender: Party | None
    on_behalf_of: Party | None
    recipients: list[Party]
    existing: int | None = None
    reply_to: str | None = None  # canonical reference of the message answered
    level: int = 0  # new messages are written answered-first


UNPLANNED = ThreadPlan(key="", patient="")


def order(record: CommunicationRecord) -> tuple[dt.datetime, str]:
    return (record.sent or _LATEST, record.key)


def check(records: list[CommunicationRecord], ctx: Importer) -> Problems:
    problems: Problems = []
    refs = {
        ref for r in records for ref in (r.sender, r.on_behalf_of, *r.recipients) if ref is not None
    }
    facts = Facts(ctx).load(refs, {r.patient for r in records})
    parties: dict[str, Party] = {}

    def party(ref: str) -> Party:
        found = parties.get(ref)
        if found is None:
            found = parties[ref] = _party(ref, facts, ctx)
        return found

    for record in records:
        _people(record, facts, party, problems)
    if problems:
        return problems
    existing = _existing(records, ctx, problems)
    if problems:
        return problems
    groups = _group(records, ctx, facts)
    link_threads = _linked_threads(records, ctx)
    thread_patient = _thread_patients(set(existing.values()) | set(link_threads.values()))
    for group in groups:
        _plan_group(group, ctx, facts, existing, link_threads, thread_patient, problems)
    _levels(records, ctx, problems)
    return problems


# -- people ----------------------------------------------------------------------------------


def _party(ref: str, facts: Facts, ctx: Importer) -> Party:
    kind = ref_type(ref, ctx)
    if kind == "PractitionerRole":
        who, tin = facts.roles[ref]
        return Party("practitioner", ref, who, frozenset([tin]))
    if kind == "Practitioner":
        who = facts.practitioner_key(ref)
        return Party("practitioner", ref, who, frozenset(facts.orgs_of.get(who, ())))
    return Party(RECIPIENT_KIND[kind], ref)


def _people(
    record: CommunicationRecord,
    facts: Facts,
    party_of: Callable[[str], Party],
    problems: Problems,
) -> None:
    mrn = facts.mrn_of[record.patient]

    def about_subject(party: Party, element: str) -> bool:
        if party.kind == "patient" and facts.mrn_of[party.ref] != mrn:
            problems.append((record, f"{element} {party.ref} is not the subject patient"))
            return False
        if party.kind == "representative" and facts.rep_patient[party.ref] != mrn:
            problems.append(
                (record, f"{element} {party.ref} is not a representative of the subject patient")
            )
            return False
        return True

    sender = None
    sender_kind = Message.SenderKind.SYSTEM.value
    if record.sender is not None:
        sender = party_of(record.sender)
        sender_kind = SENDER_KIND[sender.kind]
        about_subject(sender, "sender")
    recipients = [party_of(ref) for ref in record.recipients]
    for party in recipients:
        about_subject(party, "recipient")
    on_behalf = None
    if record.on_behalf_of is not None:
        on_behalf = party_of(record.on_behalf_of)
        if sender is None or sender.kind != "practitioner":
            problems.append(
                (record, f"extension {ON_BEHALF_OF} is read only when a practitioner sends")
            )
        elif on_behalf.practitioner == sender.practitioner:
            problems.append((record, f"extension {ON_BEHALF_OF} names the sender itself"))
    record.plan = MessagePlan(
        thread=UNPLANNED,
        sender_kind=sender_kind,
        sender=sender,
        on_behalf_of=on_behalf,
        recipients=recipients,
    )


# -- stored rows -------------------------------------------------------------------------------


def _existing(
    records: list[CommunicationRecord], ctx: Importer, problems: Problems
) -> dict[str, int]:
    """Record key -> the thread of the stored message it updates; sets ``plan.existing``."""
    if not Message.objects.exists():
        return {}
    by_identifier: dict[str, tuple[int, int]] = {}
    by_key: dict[str, tuple[int, int]] = {}
    identifiers = sorted({r.message_identifier for r in records})
    for part in chunks(identifiers):
        rows = Message.objects.filter(identifier__in=part).values_list(
            "identifier", "pk", "thread_id"
        )
        by_identifier.update((i, (pk, t)) for i, pk, t in rows)
    for part in chunks(sorted(r.key for r in records)):
        keyed = Message.objects.filter(source_key__in=part).values_list(
            "source_key", "pk", "thread_id"
        )
        by_key.update((str(k), (pk, t)) for k, pk, t in keyed)
    threads: dict[str, int] = {}
    for record in records:
        one = by_identifier.get(record.message_identifier)
        two = by_key.get(record.key)
        if one and two and one[0] != two[0]:
            problems.append(
                (record, "matches one stored message by identifier and another by its id")
            )
            continue
        found = one or two
        if found is not None:
            record.plan.existing = found[0]
            threads[record.key] = found[1]
    return threads


def _linked_threads(records: list[CommunicationRecord], ctx: Importer) -> dict[str, int]:
    """Stored messages answered or continued by the input: reference -> its thread."""
    stored = {
        ref: ctx.db_keys[ref]
        for r in records
        for ref in (*r.in_response_to, *r.part_of)
        if ctx.aliases.get(ref) is None
    }
    threads: dict[int, int] = {}
    for part in chunks(sorted(set(stored.values()))):
        threads.update(Message.objects.filter(pk__in=part).values_list("pk", "thread_id"))
    return {ref: threads[pk] for ref, pk in stored.items()}


def _thread_patients(thread_ids: set[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for part in chunks(sorted(thread_ids)):
        found.update(Thread.objects.filter(pk__in=part).values_list("pk", "patient__mrn"))
    return found


# -- threads -------------------------------------------------------------------------------------


def _group(
    records: list[CommunicationRecord], ctx: Importer, facts: Facts
) -> list[list[CommunicationRecord]]:
    """Messages of one thread together (union-find over the input's messages)."""
    parent: dict[str, str] = {r.key: r.key for r in records}

    def find(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    topics: dict[tuple[str, str], str] = {}
    for record in records:
        for ref in (*record.in_response_to, *record.part_of):
            target = ctx.canonical(ref)
            if target in parent:
                union(record.key, target)
        if record.topic:
            first = topics.setdefault((facts.mrn_of[record.patient], record.topic), record.key)
            union(record.key, first)
    groups: dict[str, list[CommunicationRecord]] = {}
    for record in records:
        groups.setdefault(find(record.key), []).append(record)
    return [sorted(g, key=order) if len(g) > 1 else g for g in groups.values()]


def _plan_group(
    group: list[CommunicationRecord],
    ctx: Importer,
    facts: Facts,
    existing: dict[str, int],
    link_threads: dict[str, int],
    thread_patient: dict[int, str],
    problems: Problems,
) -> None:
    stored = {existing[r.key] for r in group if r.key in existing}
    stored |= {
        link_threads[ref]
        for r in group
        for ref in (*r.in_response_to, *r.part_of)
        if ref in link_threads
    }
    mrn = thread_patient[min(stored)] if stored else facts.mrn_of[group[0].patient]
    for record in group:
        if facts.mrn_of[record.patient] != mrn:
            problems.append(
                (
                    record,
                    "subject is not the patient of the thread this message joins "
                    "(through inResponseTo or partOf)",
                )
            )
    fresh = [r for r in group if r.key not in existing]
    if stored:
        target = ThreadPlan(key="", patient=group[0].patient, stored=min(stored))
        for record in group:
            if record.key in existing:
                record.plan.thread = ThreadPlan(
                    key="", patient=record.patient, stored=existing[record.key]
                )
            else:
                record.plan.thread = target
                target.records.append(record)
        return
    thread = ThreadPlan(key=fresh[0].key, patient=fresh[0].patient, records=fresh)
    thread.tin, thread.pool = _organisation(fresh, facts, mrn)
    if thread.tin is None:
        problems.append(
            (
                fresh[0],
                "the thread's organisation cannot be determined: no practitioner on it belongs "
                "to a practice that saw the patient, no pool is addressed, the patient has no "
                "managingOrganization",
            )
        )
    for record in fresh:
        record.plan.thread = thread


def _organisation(
    records: list[CommunicationRecord], facts: Facts, mrn: str
) -> tuple[str | None, str | None]:
    """(TIN, pool reference) of a new thread; see the module's docstring."""
    candidates: set[str] = set()
    pools: list[str] = []
    for record in records:
        plan: MessagePlan = record.plan
        for party in (plan.sender, plan.on_behalf_of, *plan.recipients):
            if party is None:
                continue
            if party.kind == "practitioner":
                candidates |= party.tins
            elif party.kind == "pool" and party.ref not in pools:
                pools.append(party.ref)
    visits = facts.visits.get(mrn, {})
    first = records[0].sent
    seen = [tin for tin in sorted(candidates) if tin in visits]
    tin: str | None = None
    if seen:
        tin = max(seen, key=lambda t: _recency(visits[t], first))
    elif pools:
        tin = facts.pool_tin[pools[0]]
    elif mrn in facts.managing:
        tin = facts.managing[mrn]
    elif len(candidates) == 1:
        tin = next(iter(candidates))
    pool = next((p for p in pools if facts.pool_tin[p] == tin), None)
    return tin, pool


def _recency(starts: list[dt.datetime], first: dt.datetime | None) -> tuple[int, float]:
    """Later visits at or before the first message rank first, then the earliest after."""
    if first is not None:
        before = [s for s in starts if s <= first]
        if before:
            return (1, max(before).timestamp())
        return (0, -min(starts).timestamp())
    return (1, max(starts).timestamp())


def _levels(records: list[CommunicationRecord], ctx: Importer, problems: Problems) -> None:
    """``reply_to`` of each message and, among new messages, how deep it sits in a reply chain
    (answered messages are written first); a loop is an error."""
    new = {r.key: r for r in records if r.plan.existing is None}
    for record in records:
        if record.in_response_to:
            record.plan.reply_to = ctx.canonical(record.in_response_to[0])
    done: dict[str, int] = {}
    for start in new:
        path: list[str] = []
        key: str | None = start
        while key is not None and key in new and key not in done:
            if key in path:
                looped = path[path.index(key) :]
                for member in looped:
                    problems.append((new[member], "inResponseTo forms a loop"))
                    done[member] = 0
                break
            path.append(key)
            key = new[key].plan.reply_to
        base = done.get(key, -1) if key is not None and key in new else -1
        for member in reversed(path):
            if member in done:
                continue
            base += 1
            done[member] = base
    for key, level in done.items():
        new[key].plan.level = level
