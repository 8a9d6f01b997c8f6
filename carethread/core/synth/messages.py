"""A year of secure-message history (FHIR Communication) and the care-team pools it uses
(FHIR Group), drawn from the network's visits.

About a third of the patients seen in the year take part in 1-4 threads each, starting around
one of their visits:

* patient-initiated questions to a clinician they saw — answered by the clinician, by staff on
  behalf of the clinician (extension ``urn:carethread:on-behalf-of``), by staff without it, or
  never answered; some get a follow-up and a second answer;
* messages to a pool (Refills, Front desk, Nurse triage), answered by a pool member or not;
* clinician-initiated messages and staff messages on behalf of a clinician, sometimes answered
  by the patient;
* clinician-to-clinician messages about the patient, with or without the patient as recipient.

Children without an e-mail write through their representatives; a representative writes or is
addressed only while active and within its period. About 1% of practice messages are retracted
(``entered-in-error``) and sent again corrected. Patients write at any daytime hour; the practice
answers in office hours on weekdays, a few hours to days later. Messages that would fall after
the year are left out (the question stays unanswered). Times carry the practice's UTC offset.

Patients are visited one at a time, so memory stays constant whatever the size.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Generator, Iterator
from dataclasses import dataclass

from carethread.core.synth import message_texts as texts
from carethread.core.synth.clock import year_clock
from carethread.core.synth.network import FINISHED, Network, Organization, Patient, Representative
from carethread.core.synth.writers import Resource, ref

CATEGORY_SYSTEM = "urn:carethread:message-category"
MESSAGE_SYSTEM = "urn:carethread:synth:message"
ON_BEHALF_OF = "urn:carethread:on-behalf-of"

MESSAGING_SHARE = 0.36  # of the patients seen in the year
THREADS = ((1, 2, 3, 4), (55, 27, 12, 6))
KINDS = (("patient", 45), ("pool", 12), ("clinician", 20), ("staff", 8), ("colleague", 15))
PATIENT_OUTCOMES = (("clinician", 45), ("on-behalf", 20), ("staff", 15), ("none", 20))
POOL_OUTCOMES = (("member", 60), ("clinician", 15), ("on-behalf", 10), ("none", 15))
RETRACTED_SHARE = 0.012
DAY = 1440
OFFICE = (8 * 60, 18 * 60)
PATIENT_HOURS = (6 * 60, 23 * 60)

POOL_KINDS = (
    ("refills", "Refills", ("Registered nurse", "Medical assistant")),
    ("front-desk", "Front desk", ("Front desk coordinator",)),
    ("triage", "Nurse triage", ("Registered nurse",)),
)
POOL_OF_CATEGORY = {
    "refill": "refills",
    "appointment": "front-desk",
    "billing": "front-desk",
    "other": "front-desk",
    "medical": "triage",
    "referral": "triage",
    "amend-record": "triage",
}


@dataclass(frozen=True, slots=True)
class Pool:
    id: str
    slug: str
    name: str
    organization: int
    members: tuple[int, ...]  # practitioner indexes


def practice_pools(network: Network, org: Organization) -> list[Pool]:
    """The practice's pools: staff by title (all staff when none has it), plus the first
    clinician in Refills."""
    pools = []
    for slug, name, titles in POOL_KINDS:
        staff = [s for s in org.staff if network.practitioners[s].title in titles] or org.staff
        members = [*staff, org.clinicians[0]] if slug == "refills" else staff
        pools.append(
            Pool(f"pool-{org.index + 1:03d}-{slug}", slug, name, org.index, tuple(members))
        )
    return pools


def groups(network: Network) -> Iterator[Resource]:
    for org in network.organizations:
        for pool in practice_pools(network, org):
            yield {
                "resourceType": "Group",
                "id": pool.id,
                "active": True,
                "type": "practitioner",
                "actual": True,
                "name": pool.name,
                "managingEntity": ref("Organization", org.id),
                "member": [
                    {"entity": ref("Practitioner", network.practitioners[m].id)}
                    for m in pool.members
                ],
            }


def group_count(network: Network) -> int:
    return len(network.organizations) * len(POOL_KINDS)


def communications(network: Network) -> Iterator[Resource]:
    history = _History(network)
    log = network.encounters
    for patient_index, rows in itertools.groupby(range(len(log)), key=log.patient.__getitem__):
        seen = [i for i in rows if log.status[i] == FINISHED]
        if seen and history.rng.random() < MESSAGING_SHARE:
            yield from history.patient(network.patients[patient_index], seen)


# -- one patient's threads ----------------------------------------------------------------------


@dataclass(slots=True)
class _Sent:
    """A message written: its id (to answer it) and when (minute of the year, local)."""

    id: str
    at: int


@dataclass(frozen=True, slots=True)
class _Content:
    """What a message says: its category, its text, the thread's topic (on the message that
    starts it) and the message it answers."""

    category: str
    text: str
    topic: str = ""
    answers: _Sent | None = None


class _History:
    def __init__(self, network: Network) -> None:
        self.network = network
        self.rng = network.rng("messages")
        self.clock = year_clock(network.year)
        self.end = network.days_in_year * DAY
        self.count = 0
        self.reps: dict[int, list[Representative]] = {}
        for rep in network.representatives:
            if rep.active:
                self.reps.setdefault(rep.patient, []).append(rep)
        self.pools = {
            org.index: {p.slug: p for p in practice_pools(network, org)}
            for org in network.organizations
        }
        self.first_days = [network.first_day.toordinal() + d for d in range(network.days_in_year)]
        self.weekend = frozenset(range(len(self.first_days))) - frozenset(self.clock.weekdays)

    # -- the people ------------------------------------------------------------------------
    def _reps_at(self, patient: Patient, at: int) -> list[Representative]:
        day = self.first_days[at // DAY]
        return [
            rep
            for rep in self.reps.get(patient.index, ())
            if rep.start.toordinal() <= day and (rep.end is None or day < rep.end.toordinal())
        ]

    def _patient_side(self, patient: Patient, at: int) -> list[dict[str, str]]:
        """Who on the patient side can be addressed at ``at``: the patient (with a portal
        e-mail) and the representatives valid then."""
        side = [ref("Patient", patient.id)] if patient.email else []
        return side + [ref("RelatedPerson", rep.id) for rep in self._reps_at(patient, at)]

    def _writer(self, patient: Patient, at: int) -> dict[str, str] | None:
        reps = self._reps_at(patient, at)
        if patient.email and (not reps or self.rng.random() < 0.7):
            return ref("Patient", patient.id)
        return ref("RelatedPerson", self.rng.choice(reps).id) if reps else None

    def _name(self, index: int) -> str:
        person = self.network.practitioners[index]
        return " ".join(p for p in (person.prefix, person.given, person.family) if p)

    # -- times -----------------------------------------------------------------------------
    def _daytime(self, day: int) -> int:
        return day * DAY + self.rng.randrange(*PATIENT_HOURS)

    def _office(self, at: int) -> int:
        """The first office-hours moment (weekday, 08:00-18:00) at or after ``at``."""
        day, minute = divmod(at, DAY)
        if minute >= OFFICE[1]:
            day, minute = day + 1, OFFICE[0] + self.rng.randrange(0, 120)
        elif minute < OFFICE[0]:
            minute = OFFICE[0] + self.rng.randrange(0, 120)
        while day in self.weekend:
            day, minute = day + 1, OFFICE[0] + self.rng.randrange(0, 120)
        return day * DAY + minute

    def _later(self, at: int, *, practice: bool) -> int:
        """A reply: an hour to a few days later (the practice answers in office hours)."""
        hours = self.rng.choice((1, 2, 3, 5, 8, 20, 26, 48, 72, 96))
        moment = at + hours * 60 + self.rng.randrange(0, 60)
        if practice:
            return self._office(moment)
        day, minute = divmod(moment, DAY)
        if minute < PATIENT_HOURS[0]:
            minute = PATIENT_HOURS[0] + self.rng.randrange(0, 180)
        return day * DAY + minute

    # -- messages --------------------------------------------------------------------------
    def _message(
        self,
        patient: Patient,
        at: int,
        sender: dict[str, str],
        recipients: list[dict[str, str]],
        content: _Content,
        *,
        on_behalf_of: int | None = None,
        status: str = "completed",
    ) -> tuple[Resource, _Sent]:
        self.count += 1
        category = content.category
        ident = f"com-{self.count:08d}"
        org = self.network.organizations[patient.organization]
        day, minute = divmod(at, DAY)
        resource: Resource = {
            "resourceType": "Communication",
            "id": ident,
            "identifier": [{"system": MESSAGE_SYSTEM, "value": f"SM{self.count:09d}"}],
            "status": status,
            "category": [
                {
                    "coding": [
                        {
                            "system": CATEGORY_SYSTEM,
                            "code": category,
                            "display": texts.CATEGORY_DISPLAY[category],
                        }
                    ]
                }
            ],
            "subject": ref("Patient", patient.id),
        }
        if content.topic:
            resource["topic"] = {"text": content.topic}
        if content.answers is not None:
            resource["inResponseTo"] = [ref("Communication", content.answers.id)]
        resource["sent"] = self.clock.stamp(org.zone, day, minute)
        resource["sender"] = sender
        resource["recipient"] = recipients
        resource["payload"] = [{"contentString": content.text}]
        if on_behalf_of is not None:
            resource["extension"] = [
                {
                    "url": ON_BEHALF_OF,
                    "valueReference": ref(
                        "Practitioner", self.network.practitioners[on_behalf_of].id
                    ),
                }
            ]
        return resource, _Sent(ident, at)

    def _practice(
        self,
        patient: Patient,
        at: int,
        author: int,
        recipients: list[dict[str, str]],
        content: _Content,
        on_behalf_of: int | None = None,
    ) -> tuple[list[Resource], _Sent]:
        """A practice message (and the one that counts); now and then it is retracted and sent
        again a few minutes later, in the same thread."""
        sender = ref("Practitioner", self.network.practitioners[author].id)
        written = []
        if self.rng.random() < RETRACTED_SHARE:
            resource, _sent = self._message(
                patient,
                at,
                sender,
                recipients,
                content,
                on_behalf_of=on_behalf_of,
                status="entered-in-error",
            )
            written.append(resource)
            at += self.rng.randrange(3, 40)
        resource, sent = self._message(
            patient, at, sender, recipients, content, on_behalf_of=on_behalf_of
        )
        return [*written, resource], sent

    def patient(self, patient: Patient, seen: list[int]) -> Iterator[Resource]:
        rng = self.rng
        log = self.network.encounters
        org = self.network.organizations[patient.organization]
        clinicians = sorted({log.clinician[i] for i in seen})
        subjects: set[str] = set()
        for _ in range(rng.choices(*THREADS)[0]):
            visit = rng.choice(seen)
            day = min(max(0, log.day[visit] + rng.randint(-10, 30)), len(self.first_days) - 1)
            clinician = rng.choice(clinicians)
            kind = _pick(rng, KINDS)
            thread = _Thread(self, patient, org, clinician, subjects)
            yield from thread.run(kind, day)


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([w[0] for w in weighted], weights=[w[1] for w in weighted])[0]


class _Thread:
    """One conversation about ``patient``; ``run(kind, day)`` yields its messages."""

    def __init__(
        self,
        history: _History,
        patient: Patient,
        org: Organization,
        clinician: int,
        subjects: set[str],
    ) -> None:
        self.h = history
        self.rng = history.rng
        self.patient = patient
        self.org = org
        self.clinician = clinician
        self.subjects = subjects
        self.first = {"first": patient.given}

    def subject(self, text: str) -> str:
        """Subjects are unique per patient: threads are grouped by patient and topic."""
        candidate, number = text, 1
        while candidate in self.subjects:
            number += 1
            candidate = f"{text} ({number})"
        self.subjects.add(candidate)
        return candidate

    def fits(self, at: int) -> bool:
        return at < self.h.end

    def run(self, kind: str, day: int) -> Iterator[Resource]:
        start = self.h._daytime(day)
        if kind in ("patient", "pool") and self.h._writer(self.patient, start) is None:
            kind = "colleague"
        if kind in ("clinician", "staff") and not self.h._patient_side(self.patient, start):
            kind = "colleague"
        if kind in ("patient", "pool"):
            yield from self.from_patient(start, to_pool=kind == "pool")
        elif kind in ("clinician", "staff"):
            yield from self.from_practice(self.h._office(start), by_staff=kind == "staff")
        else:
            yield from self.between_clinicians(self.h._office(start))

    def sign(self, author: int, on_behalf_of: int | None = None) -> dict[str, str]:
        name = self.h._name(on_behalf_of if on_behalf_of is not None else author)
        if on_behalf_of is not None:
            return {"clinician": f"{self.h._name(author)}, for {name}", **self.first}
        return {"clinician": name, **self.first}

    def reply_author(self, outcome: str, pool: Pool | None = None) -> tuple[int, int | None] | None:
        staff = self.org.staff
        if outcome == "clinician":
            return self.clinician, None
        if outcome == "on-behalf":
            return self.rng.choice(staff), self.clinician
        if outcome == "staff":
            return self.rng.choice(staff), None
        if outcome == "member" and pool is not None:
            return self.rng.choice(pool.members), None
        return None

    def from_patient(self, at: int, *, to_pool: bool) -> Iterator[Resource]:
        rng = self.rng
        category = _pick(rng, texts.PATIENT_CATEGORIES)
        pool = None
        if to_pool:
            pool = self.h.pools[self.org.index][POOL_OF_CATEGORY[category]]
            to = [ref("Group", pool.id)]
            outcome = _pick(rng, POOL_OUTCOMES)
        else:
            to = [ref("Practitioner", self.h.network.practitioners[self.clinician].id)]
            outcome = _pick(rng, PATIENT_OUTCOMES)
        writer = self.h._writer(self.patient, at)
        assert writer is not None
        topic = self.subject(rng.choice(texts.PATIENT_SUBJECTS[category]))
        body = rng.choice(texts.PATIENT_BODIES[category])
        resource, question = self.h._message(
            self.patient, at, writer, to, _Content(category, body, topic=topic)
        )
        yield resource
        author = self.reply_author(outcome, pool)
        if author is None:
            return
        answer = yield from self.practice_answer(question, author, category, to_pool)
        if answer is None or rng.random() >= 0.25:
            return
        yield from self.follow_up(answer, to, category, to_pool)

    def follow_up(
        self, answer: _Sent, to: list[dict[str, str]], category: str, to_pool: bool
    ) -> Iterator[Resource]:
        """The patient side thanks or asks again after ``answer`` (when someone can write then,
        within the year); half the time the clinician answers that."""
        again = self.h._later(answer.at, practice=False)
        writer = self.h._writer(self.patient, again) if self.fits(again) else None
        if writer is None:
            return
        content = _Content(category, self.rng.choice(texts.PATIENT_FOLLOW_UPS), answers=answer)
        resource, follow_up = self.h._message(self.patient, again, writer, to, content)
        yield resource
        if self.rng.random() < 0.5:
            yield from self.practice_answer(
                follow_up, (self.clinician, None), category, to_pool, texts.PRACTICE_FOLLOW_UPS
            )

    def practice_answer(
        self,
        question: _Sent,
        author: tuple[int, int | None],
        category: str,
        to_pool: bool,
        wording: tuple[str, ...] | None = None,
    ) -> Generator[Resource, None, _Sent | None]:
        """The practice's answer (returns it, or None when it would fall after the year or
        nobody on the patient side can receive it then)."""
        at = self.h._later(question.at, practice=True)
        if not self.fits(at):
            return None
        side = self.h._patient_side(self.patient, at)
        if not side:
            return None
        who, for_whom = author
        text = self.rng.choice(wording or texts.PRACTICE_REPLIES[category])
        content = _Content(category, text.format(**self.sign(who, for_whom)), answers=question)
        written, sent = self.h._practice(self.patient, at, who, side, content, for_whom)
        yield from written
        return sent

    def from_practice(self, at: int, *, by_staff: bool) -> Iterator[Resource]:
        rng = self.rng
        category, subject, text = rng.choice(texts.OUTREACH)
        author, for_whom = (
            (rng.choice(self.org.staff), self.clinician) if by_staff else (self.clinician, None)
        )
        if not self.fits(at):
            return
        side = self.h._patient_side(self.patient, at)
        if not side:
            return
        content = _Content(
            category, text.format(**self.sign(author, for_whom)), topic=self.subject(subject)
        )
        written, sent = self.h._practice(self.patient, at, author, side, content, for_whom)
        yield from written
        if rng.random() >= 0.35:
            return
        to = [ref("Practitioner", self.h.network.practitioners[self.clinician].id)]
        yield from self.follow_up(sent, to, category, False)

    def between_clinicians(self, at: int) -> Iterator[Resource]:
        rng = self.rng
        colleagues = [c for c in self.org.clinicians if c != self.clinician]
        if not colleagues or not self.fits(at):
            return
        colleague = rng.choice(colleagues)
        side = self.h._patient_side(self.patient, at) if rng.random() < 0.45 else []
        category, subject, text = rng.choice(texts.COLLEAGUE)
        practitioners = self.h.network.practitioners
        to = [ref("Practitioner", practitioners[colleague].id), *side]
        content = _Content(category, text, topic=self.subject(subject))
        written, sent = self.h._practice(self.patient, at, self.clinician, to, content)
        yield from written
        if rng.random() >= 0.6:
            return
        later = self.h._later(sent.at, practice=True)
        if not self.fits(later):
            return
        side = self.h._patient_side(self.patient, later) if side else []
        back = [ref("Practitioner", practitioners[self.clinician].id), *side]
        reply = rng.choice(texts.COLLEAGUE_REPLIES)
        content = _Content(category, reply, answers=sent)
        written, _sent = self.h._practice(self.patient, later, colleague, back, content)
        yield from written
