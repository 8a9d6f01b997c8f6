"""REST routes of secure messaging: threads, messages, read state, attachments, drafts."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["messaging"])
