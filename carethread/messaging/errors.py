"""The one exception messaging actions raise for a refused request.

``code`` is a stable, PHI-free reason (shown to API clients and written to the audit trail);
``status`` is the HTTP status a route answers with.
"""

from __future__ import annotations


class MessagingError(Exception):
    MESSAGES: dict[str, str] = {
        "empty_body": "The message has no text.",
        "too_long": "The text is too long.",
        "bad_category": "Unknown category.",
        "no_recipient": "Choose at least one recipient.",
        "recipient_not_allowed": "That recipient cannot be messaged from here.",
        "patient_not_allowed": "That patient cannot be messaged from here.",
        "not_enrolled": "The patient has no portal access yet: invite them first.",
        "messaging_disabled": "The practice does not accept portal messages.",
        "organization_required": "Say which practice the message is sent from.",
        "on_behalf_not_allowed": "You cannot send on behalf of that clinician.",
        "thread_closed": "The conversation is closed.",
        "reply_window_closed": "The conversation is closed to replies; start a new message.",
        "not_allowed": "You cannot do that here.",
        "emergency_read_only": "Emergency access is read-only: you cannot reply here.",
        "stale": "The conversation changed since you loaded it; reload and try again.",
        "already_claimed": "Someone else has already claimed this conversation.",
        "already_retracted": "The message was already retracted.",
        "bad_attachment": "The attachment could not be used.",
        "attachment_type": "That type of file is not accepted.",
        "attachment_too_large": "The file is too large.",
        "too_many_attachments": "Too many attachments.",
        "bad_readings": "The readings are not valid.",
        "rate_limited": "Too many messages; please wait a while.",
        "outreach_too_large": "Too many patients for one outreach.",
        "outreach_state": "This outreach was already sent or cancelled.",
        "bad_template": "The template has an unknown placeholder.",
        "bad_request": "The request is not valid.",
        "bad_assignee": "That person cannot be assigned this conversation.",
        "bad_status": "Unknown conversation status.",
        "bad_setting": "That setting value is not allowed.",
        "bad_pool": "That care-team pool cannot be used here.",
        "bad_delegate": "That person cannot be your delegate.",
        "bad_period": "The period is not valid: it must end after it starts, in the future.",
        "template_name_taken": "A template with that name already exists.",
        "too_many_drafts": "You have too many drafts; send or delete some first.",
        "bad_reason": "Choose the reason for emergency access.",
        "explanation_required": 'Say why: the reason "Other" needs an explanation.',
        "emergency_running": "You already have emergency access to this patient.",
        "pool_name_taken": "A pool with that name already exists.",
        "pool_in_use": "The pool is still in use: move its routing rules and open conversations "
        "to another pool first.",
        "already_member": "That person is already a member of this pool.",
        "not_member": "That person is not a member of this pool.",
        "bad_member": "Only active practice users of this practice can be pool members.",
    }
    STATUS: dict[str, int] = {
        "not_allowed": 403,
        "messaging_disabled": 403,
        "stale": 409,
        "already_claimed": 409,
        "already_retracted": 409,
        "thread_closed": 409,
        "reply_window_closed": 409,
        "outreach_state": 409,
        "template_name_taken": 409,
        "pool_name_taken": 409,
        "pool_in_use": 409,
        "already_member": 409,
        "attachment_too_large": 413,
        "attachment_type": 415,
        "rate_limited": 429,
    }

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.status = self.STATUS.get(code, 400)
        self.message = detail or self.MESSAGES.get(code, "The request is not valid.")
        super().__init__(f"{code}: {self.message}")
