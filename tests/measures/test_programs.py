"""The program table: every program of the measure's rule book, checked against CMS's metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carethread.measures import programs
from carethread.measures.programs import Level, Numerator

QPP = {
    m["measureId"]: m
    for m in json.loads(
        (Path(__file__).parent / "fixtures/qpp-secure-messaging-measures.json").read_text()
    )
}

EXPECTED_IDS = [
    "mu2-2014",
    "mod2-2015",
    "mod2-2016",
    "mod2-2017",
    "mod2-2018",
    "stage3-2017",
    "stage3-2018",
    "stage3-2019",
    "stage3-2020",
    "stage3-2021",
    "aci-2017",
    "aci-trans-2017",
    "pi-2018",
    "pi-trans-2018",
]


def test_every_program_of_the_rule_book_is_in_the_table():
    assert list(programs.PROGRAMS) == EXPECTED_IDS


@pytest.mark.parametrize("program_id", ["aci-2017", "aci-trans-2017", "pi-2018", "pi-trans-2018"])
def test_mips_programs_match_cms_metadata(program_id):
    program = programs.get(program_id)
    meta = QPP[program.qpp_measure_id]
    assert meta["category"] == program.qpp_category
    assert meta["performanceYear"] == program.year
    assert meta["metricType"] == "proportion"
    assert program.scored and program.threshold is None
    assert program.default_level == Level.INDIVIDUAL


def test_numerator_kinds_and_levels():
    assert programs.get("mu2-2014").numerator == Numerator.PATIENT_SENT
    assert programs.get("mod2-2015").numerator == Numerator.CAPABILITY
    for program_id in EXPECTED_IDS[2:]:
        assert programs.get(program_id).numerator == Numerator.PROVIDER_SENT
    for program_id in EXPECTED_IDS[:10]:
        assert programs.get(program_id).default_level == Level.EP
        assert not programs.get(program_id).scored


@pytest.mark.parametrize(
    ("numerator", "denominator", "points"),
    [
        (0, 10, 0),  # no numerator: no points
        (1, 250, 1),  # 0.4%
        (1, 10, 1),  # exactly 10%
        (21, 200, 2),  # 10.5%
        (3, 10, 3),  # 30% (no float rounding up to 4)
        (7, 10, 7),
        (10, 10, 10),  # 100%
        (0, 0, 0),
    ],
)
def test_mips_decile_points(numerator, denominator, points):
    assert programs.get("pi-2018").points(numerator, denominator) == points


@pytest.mark.parametrize(
    ("numerator", "denominator", "met"),
    [(5, 100, False), (6, 100, True), (1, 20, False), (1, 19, True), (0, 0, False)],
)
def test_rate_above_five_percent(numerator, denominator, met):
    program = programs.get("stage3-2019")
    assert program.met(numerator, denominator) is met
    assert program.points(numerator, denominator) is None
    assert program.threshold is not None
    assert program.threshold.as_json() == {"rate_gt": 0.05}


def test_modified_stage_2_2016_needs_one_patient():
    program = programs.get("mod2-2016")
    assert program.met(0, 50) is False and program.met(1, 50) is True
    assert program.threshold is not None
    assert program.threshold.as_json() == {"numerator_gte": 1}


def test_unknown_program_names_the_known_ones():
    with pytest.raises(programs.UnknownProgram, match="pi-2018"):
        programs.get("pi-2019")
