"""The official FHIR R4 Communication examples (``hl7.fhir.r4.examples`` 4.0.1, CC0), with the
resources they reference supplied by ``referenced.json``.

None imports as it is, for reasons the import names: a Device sender (not a person who can
send a secure message), identifier-only references and contained references (not read), and
an attachment titled ``.pdf`` whose bytes are the text "Hello" (content is checked as for a live
upload). With only those elements supplied, each imports and every element read is kept.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from carethread.core.fhir_import import ImportFailed, import_paths, import_resources
from carethread.core.models import Practitioner
from carethread.messaging.models import Message, Thread

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).parent / "fixtures" / "fhir-examples"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NOT_A_PDF = (
    "payload[0].contentAttachment.title has an extension that does not match its content "
    "(text/plain)"
)
REFERENCED = EXAMPLES / "referenced.json"


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"Communication-{name}.json").read_text())


def refused(name: str) -> list[tuple[str, str, str]]:
    path = EXAMPLES / f"Communication-{name}.json"
    with pytest.raises(ImportFailed) as failed:
        import_paths([REFERENCED, path])
    assert Message.objects.count() == 0 and Practitioner.objects.count() == 0
    return [(e.where, e.resource, e.message) for e in failed.value.errors]


def test_example_with_a_device_sender_is_refused_with_a_clear_error() -> None:
    assert refused("example") == [
        (
            str(EXAMPLES / "Communication-example.json"),
            "Communication/example",
            "sender must reference Patient or RelatedPerson or Practitioner or "
            "PractitionerRole, not Device/f001",
        )
    ]


def test_example_imports_once_a_person_sends_it() -> None:
    resource = example("example")
    resource["sender"] = {"reference": "Practitioner/example"}
    import_paths([REFERENCED])
    import_resources([resource])
    message = Message.objects.select_related("thread__organization").get()
    assert (message.identifier, message.status, message.sender_kind) == (
        "2345678901",
        "completed",
        "practitioner",
    )
    assert message.sent_at == dt.datetime(2014, 12, 13, 2, 1, 10, tzinfo=dt.UTC)
    assert message.unseal("body_ct") == resource["payload"][0]["contentString"]
    assert [r.practitioner.source_key for r in message.recipients.all()] == ["Practitioner/example"]
    thread = message.thread
    assert (thread.category, thread.organization.tin, thread.patient.source_key) == (
        "other",  # "Alert" is none of our categories
        "123456789",
        "Patient/example",
    )
    assert thread.unseal("subject_ct") == "Secure message"


def test_fm_attachment_is_refused_for_identifier_only_references_and_a_false_pdf() -> None:
    where = str(EXAMPLES / "Communication-fm-attachment.json")
    assert refused("fm-attachment") == [
        (
            where,
            "Communication/fm-attachment",
            "sender has no reference (identifier-only references are not read)",
        ),
        (
            where,
            "Communication/fm-attachment",
            "recipient[0] has no reference (identifier-only references are not read)",
        ),
        (where, "Communication/fm-attachment", NOT_A_PDF),
    ]


def test_fm_solicited_is_refused_for_contained_references_and_a_false_pdf() -> None:
    where = str(EXAMPLES / "Communication-fm-solicited.json")
    assert refused("fm-solicited") == [
        (
            where,
            "Communication/fm-solicited",
            "sender '#provider': contained resources are not read",
        ),
        (
            where,
            "Communication/fm-solicited",
            "recipient[0] '#payor': contained resources are not read",
        ),
        (where, "Communication/fm-solicited", NOT_A_PDF),
    ]


@pytest.mark.parametrize("name", ["fm-attachment", "fm-solicited"])
def test_attachment_examples_import_once_people_and_the_pdf_are_supplied(name: str) -> None:
    resource = copy.deepcopy(example(name))
    resource["sender"] = {"reference": "Practitioner/example"}
    resource["recipient"] = [{"reference": "Patient/1"}]
    resource["payload"][0]["contentAttachment"]["data"] = base64.b64encode(PDF).decode()
    import_paths([REFERENCED])
    import_resources([resource])
    message = Message.objects.get()
    assert (message.identifier, message.unseal("body_ct")) == ("12345", "")
    files = sorted(
        (a.unseal("filename_ct"), a.content_type, a.size, a.unseal_bytes("data_ct"))
        for a in message.attachments.all()
    )
    assert files == [
        ("accident notes 20100201.pdf", "application/pdf", len(PDF), PDF),
        # URL only: title (none given) and declared type kept, the bytes stay at the source.
        ("attachment", "application/pdf", 0, b""),
    ]
    assert Thread.objects.get().organization.tin == "123456789"
