"""Settings for worker processes the tests start: Carethread's, with a short lease (so a killed
worker's claim runs out quickly) and the tests' fast password hashing."""

import datetime as dt

from carethread.settings import *  # noqa: F403

CARETHREAD_NOTIFICATION_LEASE = dt.timedelta(seconds=3)
PASSWORD_HASHERS = ["support.hashers.FastPBKDF2PasswordHasher"]
# The many-kills test and bench/notification_kills.py have one clinician write hundreds of messages.
CARETHREAD_SEND_RATE_PER_HOUR = 1_000_000
