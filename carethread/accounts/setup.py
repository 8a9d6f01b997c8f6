"""The first organisation of an installation and its first administrator login
(``carethread setup``).

An installation is *set up* once an active administrator with a login exists. Until then
``set_up`` writes, in one transaction with its audit entry: the organisation (or the one already
imported with the same TIN), the administrator's practitioner (or the imported one with the same
NPI, when it has no login yet), an active membership with ``is_admin`` and the chosen role, and
the login. The administrator is a practice user, so the session guards
(``middleware.RequireMFAMiddleware``) send them to set up an authenticator app before any other
page at their first sign-in.

Each value has its own check (``CHECKS``), which the command also uses to re-ask a value typed
at a prompt; ``problems`` runs them all, and ``set_up`` writes nothing while any fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Unpack

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from carethread.accounts import actions
from carethread.accounts.models import User
from carethread.audit import codes
from carethread.audit.actions import Who, record
from carethread.core.models import Membership, Organization, Practitioner
from carethread.core.text import text_problem
from carethread.core.validators import validate_npi, validate_tin

ROLES = tuple(Membership.Role.values)


@dataclass(frozen=True)
class FirstPractice:
    """What ``carethread setup`` asks for: the organisation and its first administrator."""

    tin: str
    name: str
    admin_email: str
    admin_given_name: str
    admin_family_name: str
    admin_role: str
    admin_npi: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Installation:
    """What exists: every organisation (name and TIN) and the number of active administrators
    with a login."""

    organizations: list[tuple[str, str]]
    admins: int

    @property
    def is_set_up(self) -> bool:
        return self.admins > 0


@dataclass(frozen=True)
class SetUp:
    """What ``set_up`` wrote: the organisation, the administrator's login, and whether the
    organisation and the practitioner were new or already there (imported)."""

    organization: Organization
    user: User
    new_organization: bool
    new_practitioner: bool


class SetupRefused(Exception):
    """Nothing was written; ``problems`` maps each value (``FirstPractice``'s field names) to
    what is wrong with it, in plain words."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {text}" for name, text in problems.items()))
        self.problems = problems


def _admins() -> int:
    return (
        Membership.objects.filter(
            is_admin=True,
            active=True,
            practitioner__active=True,
            practitioner__user__isnull=False,
            practitioner__user__is_active=True,
        )
        .values("practitioner")
        .distinct()
        .count()
    )


def installation() -> Installation:
    organizations = list(Organization.objects.order_by("name", "pk").values_list("name", "tin"))
    return Installation(organizations=organizations, admins=_admins())


# -- one check per value: the cleaned value, or ValidationError in plain words -----------------


def _text(value: str, what: str, *, limit: int, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise ValidationError(f"Enter {what}.")
    if len(value) > limit:
        raise ValidationError(f"{what.capitalize()} is too long (at most {limit} characters).")
    problem = text_problem(value)
    if problem is not None:
        raise ValidationError(f"{what.capitalize()} {problem}.")
    return value


def clean_tin(value: str) -> str:
    value = value.strip().replace("-", "")
    try:
        validate_tin(value)
    except ValidationError:
        raise ValidationError(
            "The TIN must be the practice's 9-digit taxpayer identification number "
            "(for example 27-1234567)."
        ) from None
    return value


def clean_name(value: str) -> str:
    return _text(value, "the practice's name", limit=200)


def clean_email(value: str) -> str:
    value = _text(value, "the administrator's email address", limit=254).lower()
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(f"{value} is not an email address.") from None
    if User.objects.filter(email__iexact=value).exists():
        raise ValidationError(f"{value} already has a login.")
    return value


def clean_given_name(value: str) -> str:
    return _text(value, "the administrator's given name", limit=100, required=False)


def clean_family_name(value: str) -> str:
    return _text(value, "the administrator's family name", limit=100)


def clean_role(value: str) -> str:
    value = value.strip().lower()
    if value not in ROLES:
        raise ValidationError("The role must be clinician or staff.")
    return value


def clean_npi(value: str) -> str:
    """An NPI (Luhn-checked), or "" for none; one of a practitioner who already has a login is
    refused."""
    value = value.strip()
    if not value:
        return ""
    try:
        validate_npi(value)
    except ValidationError:
        raise ValidationError(
            f"{value} is not a valid NPI: 10 digits whose last digit is the check digit."
        ) from None
    known = Practitioner.objects.filter(npi=value).first()
    if known is not None and known.user_id is not None:
        raise ValidationError(f"The practitioner with NPI {value} already has a login.")
    if known is not None and not known.active:
        raise ValidationError(f"The practitioner with NPI {value} is marked inactive.")
    return value


def clean_password(value: str, email: str = "") -> str:
    """Django's password rules (length, common, numeric, similar to the email address)."""
    try:
        validate_password(value, user=User(email=email))
    except ValidationError as exc:
        raise ValidationError(" ".join(str(message) for message in exc.messages)) from None
    return value


CHECKS: dict[str, Callable[[str], str]] = {
    "tin": clean_tin,
    "name": clean_name,
    "admin_email": clean_email,
    "admin_given_name": clean_given_name,
    "admin_family_name": clean_family_name,
    "admin_role": clean_role,
    "admin_npi": clean_npi,
}


def cleaned(practice: FirstPractice) -> tuple[FirstPractice, dict[str, str]]:
    """``practice`` with every value cleaned, and what is wrong with each value that is not."""
    values: dict[str, str] = {}
    problems: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            values[name] = check(getattr(practice, name))
        except ValidationError as exc:
            problems[name] = " ".join(exc.messages)
    try:
        clean_password(practice.password, values.get("admin_email", ""))
    except ValidationError as exc:
        problems["password"] = " ".join(exc.messages)
    if problems:
        return practice, problems
    return FirstPractice(**values, password=practice.password), {}


# -- the write -------------------------------------------------------------------------------------


def _practitioner(practice: FirstPractice) -> tuple[Practitioner, bool]:
    if practice.admin_npi:
        found = Practitioner.objects.filter(npi=practice.admin_npi, user__isnull=True).first()
        if found is not None:
            return found, False
    practitioner = Practitioner.objects.create(
        npi=practice.admin_npi or None,
        given_name=practice.admin_given_name,
        family_name=practice.admin_family_name,
        email=practice.admin_email,
    )
    return practitioner, True


def set_up(practice: FirstPractice, **who: Unpack[Who]) -> SetUp:
    """Write the first organisation and its administrator (``SetupRefused`` on any bad value,
    or when the installation is already set up: nothing written)."""
    with transaction.atomic():
        if installation().is_set_up:
            raise SetupRefused({"installation": "Carethread is already set up."})
        practice, problems = cleaned(practice)
        if problems:
            raise SetupRefused(problems)
        organization, new_organization = Organization.objects.get_or_create(
            tin=practice.tin, defaults={"name": practice.name}
        )
        practitioner, new_practitioner = _practitioner(practice)
        Membership.objects.update_or_create(
            practitioner=practitioner,
            organization=organization,
            defaults={"role": practice.admin_role, "is_admin": True, "active": True},
        )
        user = actions.create_user(
            practice.admin_email, practice.password, practitioner=practitioner
        )
        record(
            codes.PRACTICE_SET_UP,
            obj=organization,
            details={
                "organization": "created" if new_organization else "existing",
                "practitioner": "created" if new_practitioner else "existing",
                "admin": str(user.uuid),
                "role": practice.admin_role,
            },
            **who,
        )
    return SetUp(organization, user, new_organization, new_practitioner)
