"""Audit action codes: dotted lowercase strings, one constant per kind of event.

Import these instead of writing the string literals, e.g.
``record(codes.AUTH_LOGIN, actor=user, request=request)``.
"""

from __future__ import annotations

AUTH_LOGIN = "auth.login"
AUTH_LOGIN_FAILED = "auth.login_failed"
AUTH_LOGOUT = "auth.logout"
AUTH_TIMEOUT = "auth.timeout"
AUTH_REAUTHENTICATED = "auth.reauthenticated"
AUTH_PASSWORD_RESET = "auth.password_reset"  # noqa: S105  (an audit code)
AUTH_PASSWORD_CHANGED = "auth.password_changed"  # noqa: S105  (an audit code)
AUTH_PASSWORD_SET = "auth.password_set"  # noqa: S105  (an audit code)

MFA_ENABLED = "mfa.enabled"
MFA_DISABLED = "mfa.disabled"
MFA_RECOVERY_CODES_GENERATED = "mfa.recovery_codes_generated"

USER_CREATED = "user.created"
USER_PRIVILEGE_CHANGED = "user.privilege_changed"
USER_DEACTIVATED = "user.deactivated"
USER_REACTIVATED = "user.reactivated"
MEMBERSHIP_ADDED = "membership.added"

PORTAL_BLOCKED = "portal.blocked"
PORTAL_UNBLOCKED = "portal.unblocked"

INVITATION_CREATED = "invitation.created"
INVITATION_USED = "invitation.used"
INVITATION_FAILED_CHECK = "invitation.failed_check"
INVITATION_REVOKED = "invitation.revoked"
PROXY_ACCESS_REVOKED = "proxy.access_revoked"

FHIR_IMPORT = "fhir.import"
POOL_CREATE = "pool.create"
POOL_UPDATE = "pool.update"
POOL_DEACTIVATE = "pool.deactivate"
POOL_MEMBER_ADD = "pool.member_add"
POOL_MEMBER_REMOVE = "pool.member_remove"
LOCATION_CREATE = "location.create"
LOCATION_UPDATE = "location.update"

AUDIT_REPORT = "audit.report"
AUDIT_REPORT_VIEWED = "audit.report_viewed"  # the audit report page (web)
AUDIT_REPORT_EXPORTED = "audit.report_exported"  # its CSV export (web)
AUDIT_VERIFY = "audit.verify"
AUDIT_CHAIN_KEYED = "audit.chain_keyed"

SETTING_CHANGED = "setting.changed"
# `carethread setup`: the first organisation and its first administrator.
PRACTICE_SET_UP = "practice.set_up"

MEASURE_REPORT = "measure.report"

CRYPTO_INTEGRITY_FAILURE = "crypto.integrity_failure"
KEYS_ROTATED = "keys.rotated"

API_TOKEN_CREATED = "api.token_created"  # noqa: S105  (an audit code)
API_TOKEN_REVOKED = "api.token_revoked"  # noqa: S105  (an audit code)

NOTIFICATION_PREFERENCE_CHANGED = "notification.preference_changed"

# Secure messaging (docs/messaging.md, "Audit")
MESSAGE_SEND = "message.send"
MESSAGE_READ = "message.read"
MESSAGE_RETRACT = "message.retract"
THREAD_VIEW = "thread.view"
THREAD_CLAIM = "thread.claim"
THREAD_ASSIGN = "thread.assign"
THREAD_STATUS = "thread.status"
THREAD_NOTE = "thread.note"
ATTACHMENT_UPLOAD = "attachment.upload"
ATTACHMENT_DOWNLOAD = "attachment.download"
ATTACHMENT_PURGE = "attachment.purge"
DRAFT_SAVE = "draft.save"
DRAFT_DELETE = "draft.delete"
OUTREACH_PREVIEW = "outreach.preview"
OUTREACH_CONFIRM = "outreach.confirm"
OUTREACH_CANCEL = "outreach.cancel"
ROUTING_SET = "routing.set"
ROUTING_DELETE = "routing.delete"
TEMPLATE_CREATE = "template.create"
TEMPLATE_UPDATE = "template.update"
TEMPLATE_DEACTIVATE = "template.deactivate"
OUT_OF_OFFICE_SET = "out_of_office.set"
OUT_OF_OFFICE_END = "out_of_office.end"

# Emergency access, 170.315(d)(6) (docs/messaging.md, "Emergency access")
EMERGENCY_START = "emergency.start"
EMERGENCY_END = "emergency.end"
EMERGENCY_THREAD_VIEW = "emergency.thread_view"

#: Every code defined above: the only codes recorded (tests/audit/test_audit_codes_in_one_place.py).
ALL: frozenset[str] = frozenset(
    value
    for name, value in dict(globals()).items()
    if name.isupper() and isinstance(value, str) and name != "ALL"
)
