"""What every template is given: the signed-in person's main role (``ct_role``), for the
navigation."""

from django.http import HttpRequest

from carethread.accounts import roles


def carethread(request: HttpRequest) -> dict[str, str]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"ct_role": "anonymous"}
    return {"ct_role": roles.primary_role(user)}
