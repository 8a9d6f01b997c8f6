"""The documents the engine builds have the shape ``carethread.measures.report`` describes: every
required key, no key it does not list, and values of the declared types (the type checker holds
the code to that shape; this holds the data read from the database to it too)."""

from __future__ import annotations

import types
import typing

import pytest

from carethread.measures import report
from tests.measures.scenario import clinic, measure

pytestmark = pytest.mark.django_db


def problems(value: object, hint: object, where: str) -> list[str]:
    """Where ``value`` does not fit the type ``hint`` (a report TypedDict, or a part of one)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if typing.is_typeddict(hint):
        return typed_dict_problems(value, hint, where)
    if origin in (typing.Union, types.UnionType):
        fits = [problems(value, arg, where) for arg in args]
        return [] if any(not found for found in fits) else [f"{where}: {value!r} does not fit"]
    if origin is typing.Literal:
        return [] if value in args else [f"{where}: {value!r} is not one of {args}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        return [p for i, item in enumerate(value) for p in problems(item, args[0], f"{where}[{i}]")]
    if hint is type(None):
        return [] if value is None else [f"{where}: {value!r} is not None"]
    assert isinstance(hint, type), hint
    # Exactly: a bool where an int is meant (or the reverse) is a mistake in a report.
    return [] if type(value) is hint else [f"{where}: {value!r} is not a {hint.__name__}"]


def typed_dict_problems(value: object, shape: typing.Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: {value!r} is not an object"]
    required, optional = shape.__required_keys__, shape.__optional_keys__
    found = [f"{where}: no {key!r}" for key in sorted(required - set(value))]
    found += [f"{where}: unknown {key!r}" for key in sorted(set(value) - required - optional)]
    hints = typing.get_type_hints(shape, vars(report))
    for key in sorted(set(value) & set(hints)):
        found += problems(value[key], hints[key], f"{where}.{key}")
    return found


def story():
    """Dr A answers Pat's question (2018) and saw Pat in 2015; Dr B saw Pat and wrote nothing."""
    s = clinic()
    s.patient("kim", "riverside")
    s.visit("drA", "pat", "2015-03-02")
    s.visit("drA", "pat", "2018-03-02")
    s.visit("drB", "kim", "2018-04-02")
    s.message("q1", "pat", to=["drA"], on="2018-03-03")
    s.message("r1", "drA", to=["pat"], on="2018-03-04", reply_to="q1")
    s.message("n1", "sam", to=["kim"], on="2018-04-03")
    s.load()
    s.enrol("pat")
    return s


@pytest.mark.parametrize(
    ("program", "year", "level", "patients"),
    [
        ("pi-2018", 2018, None, True),
        ("pi-2018", 2018, "group", True),
        ("pi-2018", 2018, None, False),
        ("stage3-2018", 2018, None, True),
        ("mod2-2016", 2016, None, True),
        ("mu2-2014", 2014, None, True),
        ("mod2-2015", 2015, None, True),
        ("mod2-2015", 2015, None, False),
    ],
)
def test_the_document_has_the_shape_of_the_report(program, year, level, patients):
    story()
    counties = "state,county\nMA,Middlesex\n"
    doc = measure(
        program,
        f"{year}-01-01",
        f"{year}-12-31",
        level=level,
        patients=patients,
        low_broadband_csv=counties,
    )
    assert doc["results"], "a story without rows checks nothing"
    assert problems(doc, report.Report, "report") == []
    listed = [row.get("patients") for row in doc["results"]]
    assert all(entries is not None for entries in listed) is patients


def test_the_checker_finds_a_wrong_document():
    story()
    doc = measure("pi-2018", "2018-01-01", "2018-12-31")
    row = doc["results"][0]
    row["readings"][0]["rate"] = "12%"
    row["exclusions"].pop("broadband")
    row["patients"][0]["reason"] = "nobody-knows"
    doc["extra"] = 1
    assert [problem.split(":")[0] for problem in problems(doc, report.Report, "report")] == [
        "report",
        "report.results[0].exclusions",
        "report.results[0].patients[0].reason",
        "report.results[0].readings[0].rate",
    ]
