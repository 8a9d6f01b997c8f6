"""Keying a trail written under the old unkeyed formula (migration ``0003_keyed_chain``).

The legacy entries stay as they are and stay verifiable with the SHA-256 formula they were written
with. One keyed entry, ``audit.chain_keyed`` (details: how many legacy entries precede it), is
appended after the last of them: it links to the last legacy hash, so from then on the legacy part
cannot be rewritten without the key, and ``verify`` accepts no unkeyed entry after it. A
checkpoint of that entry (reason ``migration``) is written once the migration commits, which pins
the legacy part outside the database too.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from carethread.audit import checkpoints, codes, keys
from carethread.audit.chain import keyed_hash
from carethread.audit.models import AuditChainHead, AuditEvent


def seal_legacy(
    event_model: type[AuditEvent], head_model: type[AuditChainHead], using: str
) -> int | None:
    """Append the sealing entry if the trail ends in a legacy entry; returns its ``seq``.

    The models are the migration's historical ones, with the fields of today's."""
    with transaction.atomic(using=using):
        head = head_model.objects.using(using).select_for_update().filter(pk=1).first()
        if head is None or head.last_seq == 0:
            return None
        last = event_model.objects.using(using).filter(seq=head.last_seq).first()
        if last is None or last.key_id:
            return None
        key_id, key = keys.current()
        seq = head.last_seq + 1
        fields: dict[str, object] = {
            "seq": seq,
            "occurred_at": dt.datetime.now(dt.UTC),
            "actor_id": None,
            "actor_label": "system",
            "actor_role": "system",
            "patient_id": None,
            "action": codes.AUDIT_CHAIN_KEYED,
            "object_type": "",
            "object_id": "",
            "outcome": "success",
            "source_address": "",
            "details": {"legacy_entries": head.last_seq},
            "key_id": key_id,
        }
        digest = fields["hash"] = keyed_hash(key, head.last_hash, fields)
        event_model.objects.using(using).create(prev_hash=head.last_hash, **fields)
        head_model.objects.using(using).filter(pk=1).update(last_seq=seq, last_hash=digest)
        transaction.on_commit(
            lambda: checkpoints.write(seq, digest, "migration"), using=using, robust=True
        )
    return seq
