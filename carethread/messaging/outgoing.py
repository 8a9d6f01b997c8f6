"""A message to write, as values: who sends it (``Sender``), who it is addressed to
(``Addressees``) and everything ``posting.post_message`` needs to write it (``Outgoing``).

The sending actions decide who may write what and build an ``Outgoing``; ``post_message`` writes
it. Bodies and readings arrive here already checked (``posting.clean_text``,
``posting.clean_readings``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import UUID

from carethread.core.models import CareTeamPool, Patient, Practitioner, Representative
from carethread.messaging.models import Message, Recipient, Side

if TYPE_CHECKING:
    from carethread.accounts.models import User

PATIENT_SIDE_KINDS = (Message.SenderKind.PATIENT, Message.SenderKind.REPRESENTATIVE)


@dataclass
class Addressees:
    """Who a new message goes to (rows for ``Recipient``) and which logins hold the thread."""

    patients: list[Patient] = field(default_factory=list)
    representatives: list[Representative] = field(default_factory=list)
    practitioners: list[Practitioner] = field(default_factory=list)
    pools: list[CareTeamPool] = field(default_factory=list)

    def recipient_rows(self, message: Message) -> list[Recipient]:
        rows = [Recipient(message=message, kind="patient", patient=p) for p in self.patients]
        rows += [
            Recipient(message=message, kind="representative", representative=r)
            for r in self.representatives
        ]
        rows += [
            Recipient(message=message, kind="practitioner", practitioner=p)
            for p in self.practitioners
        ]
        rows += [Recipient(message=message, kind="pool", pool=p) for p in self.pools]
        return rows


@dataclass(frozen=True)
class Sender:
    """Who writes: the sender kind, the login (``None`` for an automatic message), the row the
    message is from and, for a practice user writing for a clinician, that clinician."""

    kind: str
    author: User | None = None
    practitioner: Practitioner | None = None
    patient: Patient | None = None
    representative: Representative | None = None
    on_behalf_of: Practitioner | None = None

    @classmethod
    def practice(
        cls, practitioner: Practitioner, author: User, on_behalf_of: Practitioner | None = None
    ) -> Sender:
        """A practice user writing (for themselves, or for ``on_behalf_of``)."""
        return cls(
            kind=Message.SenderKind.PRACTITIONER,
            author=author,
            practitioner=practitioner,
            on_behalf_of=on_behalf_of,
        )

    @classmethod
    def system(cls) -> Sender:
        """The practice's automatic messages (no login writes them)."""
        return cls(kind=Message.SenderKind.SYSTEM)

    @property
    def patient_side(self) -> bool:
        return self.kind in PATIENT_SIDE_KINDS

    @property
    def side(self) -> str:
        """The inbox side of the author's own row."""
        if self.kind == Message.SenderKind.PATIENT:
            return Side.PATIENT
        if self.kind == Message.SenderKind.REPRESENTATIVE:
            return Side.REPRESENTATIVE
        return Side.PRACTICE


@dataclass(frozen=True)
class Outgoing:
    """A message to write: its sender, checked body and readings, addressees, the message it
    answers and the uploads it carries; the logins that hold the thread (with their side) and
    those told about it; ``client_key`` makes a retry return the message already written."""

    sender: Sender
    body: str
    addressees: Addressees
    in_response_to: Message | None = None
    readings_json: str | None = None
    attachment_ids: Sequence[UUID | str] = ()
    members: Sequence[tuple[User, str]] = ()
    notify: Sequence[User] = ()
    is_automatic: bool = False
    client_key: str | None = None


@dataclass(frozen=True)
class Compose:
    """What a sender wrote, checked: the body and readings, the uploads it carries, the message
    it answers, the clinician it is written for and the retry key. The sending action adds
    the sender, the addressees and who is told (``outgoing``)."""

    body: str
    readings_json: str | None = None
    attachments: Sequence[UUID | str] = ()
    in_response_to: Message | None = None
    on_behalf_of: Practitioner | None = None
    client_key: str | None = None

    def outgoing(
        self,
        sender: Sender,
        addressees: Addressees,
        *,
        members: Sequence[tuple[User, str]],
        notify: Sequence[User],
    ) -> Outgoing:
        return Outgoing(
            sender=sender,
            body=self.body,
            addressees=addressees,
            in_response_to=self.in_response_to,
            readings_json=self.readings_json,
            attachment_ids=self.attachments,
            members=members,
            notify=notify,
            client_key=self.client_key,
        )
