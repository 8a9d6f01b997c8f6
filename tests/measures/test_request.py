"""``request.parse``: every bad input is refused with a message for the user, nothing else is
accepted silently, and good inputs give the request they name (program, dates, level, filters,
policies, the low-broadband county list)."""

from __future__ import annotations

import datetime as dt

import pytest

from carethread.core.models import Organization, Practitioner
from carethread.measures import request
from carethread.measures.programs import PROGRAMS, Level
from carethread.measures.request import (
    Actors,
    MeasureInputError,
    Policy,
    RequestInput,
    Window,
    county_key,
    parse,
    parse_counties,
    parse_policies,
)

TIN = "271234567"
NPI = "1234567893"


def good(**changes):
    """``parse`` with a good request, changed by ``changes``."""
    kwargs = {"program": "mod2-2017", "start": "2017-01-01", "end": "2017-12-31", **changes}
    return parse(RequestInput(**kwargs))


def refused(**changes) -> str:
    """The message of the MeasureInputError ``parse`` raises for a bad request."""
    with pytest.raises(MeasureInputError) as err:
        good(**changes)
    message = str(err.value)
    assert message, "the error carries a message for the user"
    return message


@pytest.fixture
def known(db):
    org = Organization.objects.create(tin=TIN, name="Riverside Family Medicine")
    doctor = Practitioner.objects.create(family_name="Rivera", npi=NPI)
    return org, doctor


# -- program, dates, level -----------------------------------------------------------------


def test_the_error_is_a_value_error_for_callers_that_catch_those():
    assert issubclass(MeasureInputError, ValueError)


@pytest.mark.parametrize("program", ["mu2-2013", "PI-2018", "", "pi 2018", "stage3-2022"])
def test_unknown_program_is_refused_and_the_known_ones_are_listed(program):
    message = refused(program=program)
    assert repr(program) in message
    for known in ("mu2-2014", "mod2-2015", "stage3-2021", "pi-trans-2018"):
        assert known in message


@pytest.mark.parametrize("program", list(PROGRAMS))
def test_every_program_of_the_table_is_accepted(db, program):
    req = good(program=program)
    assert req.program is PROGRAMS[program]


@pytest.mark.parametrize(
    "value",
    [
        "2017-13-01",
        "2017-02-30",
        "yesterday",
        "",
        "01/02/2017",
        "2017-1-1x",
        "20170101",
        "2017-W01-1",
        "2017-01-01T00:00",
    ],
)
@pytest.mark.parametrize("which", ["start", "end"])
def test_bad_dates_are_refused_naming_the_option(which, value):
    message = refused(**{which: value})
    assert which in message
    assert "YYYY-MM-DD" in message
    assert repr(value) in message


def test_the_end_before_the_start_is_refused():
    message = refused(start="2017-06-02", end="2017-06-01")
    assert "2017-06-01" in message and "2017-06-02" in message
    assert "before" in message


def test_a_one_day_period_is_accepted(db):
    req = good(start="2017-06-01", end="2017-06-01")
    assert req.start == req.end == dt.date(2017, 6, 1)


def test_dates_are_dates(db):
    req = good(start="2017-02-01", end="2017-11-30")
    assert (req.start, req.end) == (dt.date(2017, 2, 1), dt.date(2017, 11, 30))


@pytest.mark.parametrize("level", ["tin", "Individual", "EP", "groups", "clinician"])
def test_unknown_level_is_refused_and_the_levels_are_listed(level):
    message = refused(level=level)
    assert repr(level) in message
    for known in ("individual", "group", "ep"):
        assert known in message


@pytest.mark.parametrize("level", ["individual", "group", "ep"])
def test_each_level_is_accepted(db, level):
    assert good(level=level).level == Level(level)


@pytest.mark.parametrize(
    ("program", "level"),
    [("pi-2018", Level.INDIVIDUAL), ("aci-trans-2017", Level.INDIVIDUAL), ("mu2-2014", Level.EP)],
)
@pytest.mark.parametrize("given", [None, ""])
def test_without_a_level_the_programs_default_level_is_used(db, program, level, given):
    assert good(program=program, level=given).level == level


# -- filters ---------------------------------------------------------------------------------


def test_unknown_tin_is_refused(known):
    message = refused(tin="999999999")
    assert "'999999999'" in message and "TIN" in message


def test_unknown_npi_is_refused(known):
    message = refused(npi="1999999999")
    assert "'1999999999'" in message and "NPI" in message


def test_known_tin_and_npi_are_kept(known):
    req = good(tin=TIN, npi=NPI)
    assert (req.tin, req.npi) == (TIN, NPI)


def test_empty_filters_mean_no_filter(db):
    req = good(tin="", npi="")
    assert (req.tin, req.npi) == (None, None)
    req = good()
    assert (req.tin, req.npi) == (None, None)


def test_a_practitioner_without_npi_does_not_make_every_npi_known(db):
    Practitioner.objects.create(family_name="Okafor")  # staff: no NPI
    refused(npi="1234567893")


# -- policies -----------------------------------------------------------------------------


def test_without_policies_the_defaults_apply(db):
    policy = good().policy
    assert policy == Policy()
    assert policy.actors == Actors.CLINICIAN
    assert policy.halo is False
    assert policy.exclude_pos == ("21", "23")
    assert policy.window == Window.PERIOD
    assert policy.as_json() == {
        "actors": "clinician",
        "halo": False,
        "exclude_pos": ["21", "23"],
        "window": "period",
    }


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["actors=delegate"], Policy(actors=Actors.DELEGATE)),
        (["actors=practice"], Policy(actors=Actors.PRACTICE)),
        (["actors=clinician"], Policy()),
        (["halo=true"], Policy(halo=True)),
        (["halo=TRUE"], Policy(halo=True)),
        (["halo=false"], Policy(halo=False)),
        (["window=calendar-year"], Policy(window=Window.CALENDAR_YEAR)),
        (["window=period"], Policy()),
        (["exclude_pos=none"], Policy(exclude_pos=())),
        (["exclude_pos=NONE"], Policy(exclude_pos=())),
        (["exclude_pos="], Policy(exclude_pos=())),
        (["exclude_pos=23"], Policy(exclude_pos=("23",))),
        (["exclude_pos=23, 21,21"], Policy(exclude_pos=("21", "23"))),
        (["exclude_pos=02,21,23"], Policy(exclude_pos=("02", "21", "23"))),
        ([" actors = delegate ", "halo= true"], Policy(actors=Actors.DELEGATE, halo=True)),
        (
            ["actors=practice", "halo=true", "exclude_pos=none", "window=calendar-year"],
            Policy(Actors.PRACTICE, True, (), Window.CALENDAR_YEAR),
        ),
    ],
)
def test_good_policies_give_the_policy_they_name(db, items, expected):
    assert good(policies=items).policy == expected
    assert parse_policies(items) == expected


def test_the_effective_policy_is_echoed_as_json(db):
    policy = good(policies=["actors=delegate", "halo=true", "exclude_pos=23,21,11"]).policy
    assert policy.as_json() == {
        "actors": "delegate",
        "halo": True,
        "exclude_pos": ["11", "21", "23"],
        "window": "period",
    }


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ("actors", ["NAME=VALUE", "'actors'"]),  # no "="
        ("haloo=true", ["NAME=VALUE", "actors", "halo", "exclude_pos", "window"]),
        ("=true", ["NAME=VALUE"]),
        ("Actors=delegate", ["NAME=VALUE"]),
        ("actors=staff", ["actors", "clinician", "delegate", "practice", "'staff'"]),
        ("actors=", ["actors", "''"]),
        ("halo=yes", ["halo", "true or false", "'yes'"]),
        ("halo=1", ["halo", "'1'"]),
        ("window=year", ["window", "period", "calendar-year", "'year'"]),
        ("exclude_pos=21,2x", ["exclude_pos", "2-digit", "'21,2x'"]),
        ("exclude_pos=211", ["exclude_pos", "'211'"]),
        ("exclude_pos=21;23", ["exclude_pos", "'21;23'"]),
        ("exclude_pos=21,,23", ["exclude_pos"]),
        ("exclude_pos=1", ["exclude_pos"]),
    ],
)
def test_malformed_policies_are_refused(item, words):
    message = refused(policies=[item])
    for word in words:
        assert word in message, (word, message)


def test_a_policy_given_twice_is_refused():
    message = refused(policies=["halo=true", "halo=false"])
    assert "halo" in message and "twice" in message


def test_policies_are_checked_before_anything_is_computed():
    # parse_policies alone, without a database: the same refusal.
    with pytest.raises(MeasureInputError):
        parse_policies(["actors=everyone"])


# -- low-broadband county list ------------------------------------------------------------------


def counties(text: str) -> frozenset[tuple[str, str]] | None:
    return good(low_broadband_csv=text).low_broadband_counties


def counties_refused(text: str) -> str:
    return refused(low_broadband_csv=text)


def test_without_a_list_there_is_none(db):
    assert good().low_broadband_counties is None
    assert good(low_broadband_csv=None).low_broadband_counties is None


def test_a_list_gives_upper_cased_state_and_county_pairs(db):
    assert counties("NY,Kings\nny,Queens County\nLA,Orleans Parish\nAK, Juneau Borough \n") == {
        ("NY", "KINGS"),
        ("NY", "QUEENS"),
        ("LA", "ORLEANS"),
        ("AK", "JUNEAU"),
    }


def test_a_header_row_is_accepted(db):
    assert counties("state,county\nNY,Kings\n") == {("NY", "KINGS")}
    assert counties("State, County\r\nNY,Kings\r\n") == {("NY", "KINGS")}


def test_a_header_is_only_a_header_on_the_first_line(db):
    message = counties_refused("NY,Kings\nstate,county\n")
    assert "line 2" in message


def test_blank_lines_are_skipped(db):
    assert counties("\nNY,Kings\n\n , \nNY,Bronx\n") == {("NY", "KINGS"), ("NY", "BRONX")}


def test_quoted_county_names_with_commas_are_read(db):
    assert counties('VA,"Fairfax, City of"\n') == {("VA", "FAIRFAX, CITY OF")}


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Kings County", "KINGS"),
        ("Kings", "KINGS"),
        ("kings county", "KINGS"),
        ("  Kings   County ", "KINGS"),
        ("Orleans Parish", "ORLEANS"),
        ("Juneau Borough", "JUNEAU"),
        ("County", "COUNTY"),  # only a suffix when something comes before it
        ("St. Mary's County", "ST. MARY'S"),
    ],
)
def test_x_county_matches_x(name, key):
    assert county_key(name) == key


def test_x_county_in_the_list_matches_a_location_named_x(db):
    (pair,) = counties("NY,Kings County\n")
    assert pair == ("NY", county_key("Kings")) == ("NY", county_key("KINGS COUNTY"))


@pytest.mark.parametrize(
    ("text", "line", "found"),
    [
        ("NY\n", 1, 1),
        ("NY,Kings,extra\n", 1, 3),
        ("NY,Kings\nNY,Queens,36081\n", 2, 3),
        ("state,county\nNY\n", 2, 1),
    ],
)
def test_a_wrong_column_count_is_refused_with_its_line(db, text, line, found):
    message = counties_refused(text)
    assert f"line {line}" in message
    assert "2 columns" in message
    assert f"found {found}" in message


@pytest.mark.parametrize(
    "row", ["New York,Kings", "N1,Kings", "N,Kings", "NYC,Kings", ",Kings", "NY,", "12,Kings"]
)
def test_a_bad_state_or_missing_county_is_refused(db, row):
    message = counties_refused(f"NY,Bronx\n{row}\n")
    assert "line 2" in message
    assert "2-letter state" in message


@pytest.mark.parametrize("text", ["", "\n\n", "state,county\n", " , \n"])
def test_an_empty_list_is_refused(db, text):
    message = counties_refused(text)
    assert "no counties" in message


def test_parse_counties_alone_refuses_the_same_way():
    with pytest.raises(MeasureInputError):
        parse_counties("")
    assert parse_counties("TX,Loving County") == {("TX", "LOVING")}


# -- the whole request ------------------------------------------------------------------------


def test_a_full_request_carries_every_input(known):
    req = parse(
        RequestInput(
            program="pi-2018",
            start="2018-01-01",
            end="2018-12-31",
            level="group",
            tin=TIN,
            npi=NPI,
            policies=["actors=practice", "halo=true"],
            low_broadband_csv="state,county\nNY,Kings County\n",
            patients=True,
        )
    )
    assert req == request.MeasureRequest(
        program=PROGRAMS["pi-2018"],
        start=dt.date(2018, 1, 1),
        end=dt.date(2018, 12, 31),
        level=Level.GROUP,
        policy=Policy(actors=Actors.PRACTICE, halo=True),
        tin=TIN,
        npi=NPI,
        low_broadband_counties=frozenset({("NY", "KINGS")}),
        patients=True,
    )


def test_patient_lists_are_off_unless_asked(db):
    assert good().patients is False
    assert good(patients=True).patients is True


def test_the_first_bad_input_found_is_reported_in_a_fixed_order():
    # The program is checked first, then the dates: an unknown program with bad dates names the
    # program (the user fixes one thing at a time, the message never depends on chance).
    message = refused(program="nope", start="bad", end="worse")
    assert "'nope'" in message
    message = refused(start="bad", end="worse")
    assert "start" in message and "'bad'" in message
