"""PBKDF2-HMAC-SHA256 with few iterations, so that tests creating many logins stay fast.
Same algorithm name and format as Django's default; only the work factor differs."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1000
