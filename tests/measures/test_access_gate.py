"""The measure gate's practice check (``administered_practice``), used by the API's ``scoped`` and
the dashboard's query reader alike: the caller's practice, or a 403 that names the TIN asked."""

from __future__ import annotations

import pytest

from carethread.core.models import Organization
from carethread.measures import access
from carethread.web.measures.forms import outsiders_404

OWN = Organization(tin="271234567", name="Riverside Family Medicine")


def test_the_callers_own_practice():
    assert access.administered_practice({OWN.tin: OWN}, OWN.tin) is OWN


@pytest.mark.parametrize("tin", ["271234568", "", "27123456", OWN.tin + " "])
def test_any_other_tin_is_refused_with_403(tin):
    with pytest.raises(access.Refused) as refused:
        access.administered_practice({OWN.tin: OWN}, tin)
    assert refused.value.status == 403
    assert refused.value.message == access.not_their_practice(tin)


def test_the_pages_turn_403_into_their_404_and_keep_the_others():
    from django.http import Http404

    with pytest.raises(Http404), outsiders_404():
        access.administered_practice({}, OWN.tin)
    with pytest.raises(access.Refused) as refused, outsiders_404():
        raise access.Refused(400, access.CHOOSE_A_TIN)
    assert refused.value.status == 400
