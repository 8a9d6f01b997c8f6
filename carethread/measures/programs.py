"""The program table of the Secure Messaging measure: every program-year variant in one place.

A program says what its numerator counts, how a result is judged (a threshold, or MIPS decile
points), its QPP measure id and category when it has one, its performance year and its default
level. Thresholds are data here; nothing else in the code tests the year.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from carethread.measures.report import ThresholdJson


class Numerator(StrEnum):
    # A message sent by the patient or an authorised representative (MU Stage 2, 2014).
    PATIENT_SENT = "patient-sent"
    # A message sent to the patient or representative, or in reply to one (the later programs).
    PROVIDER_SENT = "provider-sent"
    # Whether patient messaging was enabled throughout the period (Modified Stage 2, 2015).
    CAPABILITY = "capability"


class Level(StrEnum):
    INDIVIDUAL = "individual"  # MIPS eligible clinician: one row per (TIN, NPI)
    GROUP = "group"  # MIPS group: one row per TIN
    EP = "ep"  # Medicaid / MU eligible professional: one row per NPI


@dataclass(frozen=True)
class Threshold:
    """Pass when ``rate > rate_gt`` or ``numerator >= numerator_gte`` (one of the two)."""

    rate_gt: tuple[int, int] | None = None  # a fraction (5, 100) = 5%, kept exact
    numerator_gte: int | None = None

    def as_json(self) -> ThresholdJson:
        if self.rate_gt is not None:
            return {"rate_gt": self.rate_gt[0] / self.rate_gt[1]}
        assert self.numerator_gte is not None
        return {"numerator_gte": self.numerator_gte}

    def met(self, numerator: int, denominator: int) -> bool:
        if self.numerator_gte is not None:
            return numerator >= self.numerator_gte
        assert self.rate_gt is not None
        top, bottom = self.rate_gt
        # numerator / denominator > top / bottom, in integers (no rounding at the boundary).
        return denominator > 0 and numerator * bottom > top * denominator


@dataclass(frozen=True)
class Program:
    id: str
    title: str
    year: int
    numerator: Numerator
    default_level: Level
    threshold: Threshold | None = None  # None: scored by MIPS deciles, or a yes/no capability
    qpp_measure_id: str | None = None
    qpp_category: str | None = None  # "aci" (2017) or "pi" (2018)

    @property
    def scored(self) -> bool:
        """MIPS performance measure: points by decile, no pass/fail."""
        return self.qpp_measure_id is not None

    def points(self, numerator: int, denominator: int) -> int | None:
        """MIPS points: 0 without a numerator, else ceil(rate x 10), at most 10."""
        if not self.scored:
            return None
        if numerator <= 0 or denominator <= 0:
            return 0
        return min(10, -(-10 * numerator // denominator))

    def met(self, numerator: int, denominator: int) -> bool | None:
        if self.threshold is None:
            return None
        return self.threshold.met(numerator, denominator)


FIVE_PERCENT = Threshold(rate_gt=(5, 100))


def _stage3(year: int) -> Program:
    return Program(
        id=f"stage3-{year}",
        title=f"Medicaid Stage 3 {year}, objective 6 measure 2",
        year=year,
        numerator=Numerator.PROVIDER_SENT,
        default_level=Level.EP,
        threshold=FIVE_PERCENT,
    )


PROGRAMS: dict[str, Program] = {
    program.id: program
    for program in (
        Program(
            id="mu2-2014",
            title="Meaningful Use Stage 2, 2014 (EP core objective 17)",
            year=2014,
            numerator=Numerator.PATIENT_SENT,
            default_level=Level.EP,
            threshold=FIVE_PERCENT,
        ),
        Program(
            id="mod2-2015",
            title="Modified Stage 2, 2015",
            year=2015,
            numerator=Numerator.CAPABILITY,
            default_level=Level.EP,
        ),
        Program(
            id="mod2-2016",
            title="Modified Stage 2, 2016",
            year=2016,
            numerator=Numerator.PROVIDER_SENT,
            default_level=Level.EP,
            threshold=Threshold(numerator_gte=1),
        ),
        Program(
            id="mod2-2017",
            title="Modified Stage 2, 2017",
            year=2017,
            numerator=Numerator.PROVIDER_SENT,
            default_level=Level.EP,
            threshold=FIVE_PERCENT,
        ),
        Program(
            id="mod2-2018",
            title="Medicaid Modified Stage 2, 2018",
            year=2018,
            numerator=Numerator.PROVIDER_SENT,
            default_level=Level.EP,
            threshold=FIVE_PERCENT,
        ),
        *(_stage3(year) for year in range(2017, 2022)),
        Program(
            id="aci-2017",
            title="MIPS Advancing Care Information 2017",
            year=2017,
            numerator=Numerator.PROVIDER_SENT,
            default_level=Level.INDIVIDUAL,
            qpp_measure_id="ACI_CCTPE_2",
            qpp_category="aci",
        ),
        Program(
            id="aci-trans-2017",
            title="MIPS ACI transition set 2017",
            year=2017,
            numerator=Numerator.PROVIDER_SENT,
            default_level=Level.INDIVIDUAL,
            qpp_measure_id="ACI_TRANS_SM_1",
            qpp_category="aci",
        ),
        Program(
            id="pi-2018",
            title="MIPS Promoting Interoperability 2018",
            year=2018,
            numerator=Numerator.PROVIDER_SENT,
            default_level=Level.INDIVIDUAL,
            qpp_measure_id="PI_CCTPE_2",
            qpp_category="pi",
        ),
        Program(
            id="pi-trans-2018",
            title="MIPS PI transition set 2018",
            year=2018,
            numerator=Numerator.PROVIDER_SENT,
            default_level=Level.INDIVIDUAL,
            qpp_measure_id="PI_TRANS_SM_1",
            qpp_category="pi",
        ),
    )
}


class UnknownProgram(ValueError):
    def __init__(self, program_id: str) -> None:
        known = ", ".join(PROGRAMS)
        super().__init__(f"unknown program {program_id!r}; known programs: {known}")


def get(program_id: str) -> Program:
    try:
        return PROGRAMS[program_id]
    except KeyError:
        raise UnknownProgram(program_id) from None
