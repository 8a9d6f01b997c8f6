"""Django settings for Carethread. Everything configurable comes from ``carethread.config``."""

from __future__ import annotations

from pathlib import Path

from carethread import config as _config

CONFIG = _config.load()
PACKAGE_DIR = Path(__file__).resolve().parent

SECRET_KEY = CONFIG.secret_key
DEBUG = CONFIG.debug
ALLOWED_HOSTS = CONFIG.allowed_hosts
CARETHREAD_BASE_URL = CONFIG.base_url
CARETHREAD_KEY_FILE = CONFIG.key_file
CARETHREAD_VAR_DIR = CONFIG.var_dir
# None: $CARETHREAD_VAR_DIR/audit-checkpoints.jsonl (carethread.audit.checkpoints)
CARETHREAD_AUDIT_CHECKPOINT_FILE = CONFIG.audit_checkpoint_file
CARETHREAD_SMTP_URL = CONFIG.smtp_url
CARETHREAD_PRACTICE_IDLE_SECONDS = CONFIG.practice_idle_minutes * 60
CARETHREAD_PATIENT_IDLE_SECONDS = CONFIG.patient_idle_minutes * 60
CARETHREAD_INVITATION_DAYS = CONFIG.invitation_days
CARETHREAD_SEND_RATE_PER_HOUR = CONFIG.send_rate_per_hour
CARETHREAD_ATTACHMENT_MAX_BYTES = CONFIG.attachment_max_bytes
CARETHREAD_ATTACHMENT_MAX_COUNT = CONFIG.attachment_max_count
CARETHREAD_OUTREACH_LIMIT = CONFIG.outreach_limit
# Peers whose X-Forwarded-For is believed (carethread.addresses.client_address).
CARETHREAD_TRUSTED_PROXIES = CONFIG.trusted_proxies

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_tasks",
    "django_tasks_db",
    "carethread.audit",
    "carethread.crypto",
    "carethread.core",
    "carethread.accounts",
    "carethread.notifications",
    "carethread.messaging",
    "carethread.measures",
    "carethread.web",
    "carethread.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "carethread.api.middleware.ApiNoStoreMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "carethread.web.input_middleware.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "carethread.accounts.middleware.IdleTimeoutMiddleware",
    "carethread.accounts.middleware.BlockedUserMiddleware",
    "carethread.accounts.middleware.RequireMFAMiddleware",
    "carethread.web.middleware.ContentSecurityPolicyMiddleware",
]

# Uploads past 2.5 MB go to a temporary file; its name is cut short first (attachments.py).
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "carethread.messaging.attachments.ShortNameTemporaryFileUploadHandler",
]

ROOT_URLCONF = "carethread.urls"
WSGI_APPLICATION = "carethread.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "carethread.web.context.carethread",
            ],
        },
    },
]

DATABASES = {"default": CONFIG.database}
# SQLite ignores an index's non-key columns (INCLUDE): the index still serves, so its warning is
# nothing to act on there; PostgreSQL keeps the check.
SILENCED_SYSTEM_CHECKS = (
    ["models.W040"] if CONFIG.database["ENGINE"] == "django.db.backends.sqlite3" else []
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work: Django's tasks API on the database queue, run by `carethread worker`.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "notifications"],
    }
}

CACHES = {
    # Shared between server processes so that login throttling holds across gunicorn workers.
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "carethread_cache",
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# django-allauth: email is the login; nobody signs up on their own (patients enrol by invitation).
ACCOUNT_ADAPTER = "carethread.accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_RATE_LIMITS = {
    # Failed sign-ins: per address, and per account from one address (the key is the account
    # and the address: a stranger elsewhere cannot lock a known account out) ...
    "login_failed": f"{CONFIG.login_attempts * 2}/15m/ip,{CONFIG.login_attempts}/15m/key",
    # ... and a much higher ceiling per account, all addresses together (see accounts docs).
    "login_failed_account": f"{CONFIG.login_account_attempts}/15m/key",
    "login": "30/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "reauthenticate": "10/m/user",
    # Invitation code and date-of-birth answers (our own enrolment pages).
    "enrol": "20/m/ip,100/h/ip",
}
# Password reset: one lookup and one queued task whatever the address; the worker mails.
ACCOUNT_FORMS = {"reset_password": "carethread.accounts.password_reset.ResetPasswordForm"}
# Password reset for an unknown address: the same page, and no email at all.
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Carethread] "
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Carethread"
MFA_RECOVERY_CODE_COUNT = 10
MFA_ADAPTER = "carethread.accounts.adapter.MFAAdapter"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_AGE = 12 * 60 * 60
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if CONFIG.https:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 63072000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = [CONFIG.base_url]

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
DEFAULT_FROM_EMAIL = CONFIG.default_from_email
_smtp = _config.parse_smtp_url(CONFIG.smtp_url)
EMAIL_HOST = _smtp.host
EMAIL_PORT = _smtp.port
EMAIL_HOST_USER = _smtp.user
EMAIL_HOST_PASSWORD = _smtp.password
EMAIL_USE_TLS = _smtp.starttls
EMAIL_USE_SSL = _smtp.ssl
EMAIL_TIMEOUT = 10

LANGUAGE_CODE = "en-us"
TIME_ZONE = CONFIG.time_zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = CONFIG.var_dir / "static"
# `collectstatic` target; whitenoise also serves files straight from the finders.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": CONFIG.log_level},
    "loggers": {
        # Request bodies and query strings can carry PHI: never log them.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "django.db.backends": {"level": "WARNING"},
    },
}
