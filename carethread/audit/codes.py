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

MFA_ENABLED = "mfa.enabled"
MFA_DISABLED = "mfa.disabled"
MFA_RECOVERY_CODES_GENERATED = "mfa.recovery_codes_generated"

USER_CREATED = "user.created"
USER_PRIVILEGE_CHANGED = "user.privilege_changed"

PORTAL_BLOCKED = "portal.blocked"
PORTAL_UNBLOCKED = "portal.unblocked"

INVITATION_CREATED = "invitation.created"
INVITATION_USED = "invitation.used"
INVITATION_FAILED_CHECK = "invitation.failed_check"
PROXY_ACCESS_REVOKED = "proxy.access_revoked"

FHIR_IMPORT = "fhir.import"

AUDIT_REPORT = "audit.report"
AUDIT_VERIFY = "audit.verify"
AUDIT_CHAIN_KEYED = "audit.chain_keyed"

SETTING_CHANGED = "setting.changed"

MEASURE_REPORT = "measure.report"

CRYPTO_INTEGRITY_FAILURE = "crypto.integrity_failure"
KEYS_ROTATED = "keys.rotated"

API_TOKEN_CREATED = "api.token_created"  # noqa: S105  (an audit code)
API_TOKEN_REVOKED = "api.token_revoked"  # noqa: S105  (an audit code)

#: Every code defined above (other modules may record codes of their own, also dotted lowercase).
ALL: frozenset[str] = frozenset(
    value
    for name, value in dict(globals()).items()
    if name.isupper() and isinstance(value, str) and name != "ALL"
)
