"""A calendar year of encounters: how often each patient comes, where, whom they see, when.

Visit counts: many patients come 1-3 times, some not at all this year, a tail of chronic
patients 8-15 times (more often among the elderly); the mean is about three. Office and
telehealth visits fall on weekdays within office hours, local time; emergency-room and inpatient
encounters at any hour (never in the small hours of a daylight-saving switch day).
"""

from __future__ import annotations

import itertools

from carethread.core.synth.clock import EARLY_MORNING, year_clock
from carethread.core.synth.network import (
    CANCELLED,
    ENTERED_IN_ERROR,
    FINISHED,
    POS_EMERGENCY,
    POS_INPATIENT,
    POS_OFFICE,
    POS_TELEHEALTH,
    Network,
)
from carethread.core.synth.people import age_on
from carethread.core.synth.progress import Advance, Ticker

VISIT_COUNTS = (0, 1, 2, 3, 4, 5, 6, 7)
VISIT_COUNT_WEIGHTS = (12, 24, 20, 14, 9, 6, 4, 3)
CHRONIC_VISITS = (8, 15)
CHRONIC_SHARE = {True: 0.15, False: 0.05}  # by "aged 65 or over"
EMERGENCY_SHARE = 0.03
INPATIENT_SHARE = 0.02
TELEHEALTH_SHARE = 0.10
OTHER_OFFICE_SHARE = 0.10
PRIMARY_CLINICIAN_SHARE = 0.85
SECOND_PARTICIPANT_SHARE = 0.06
ENTERED_IN_ERROR_SHARE = 0.005
CANCELLED_SHARE = 0.044  # of office and telehealth visits
OFFICE_HOURS = (8 * 60, 17 * 60)  # first and last+1 appointment minute, 15-minute slots
TELEHEALTH_HOURS = (7 * 60, 19 * 60)


def add_encounters(network: Network, advance: Advance) -> None:
    rng = network.rng("encounters")
    clock = year_clock(network.year)
    random_, randrange, choice = rng.random, rng.randrange, rng.choice
    count_weights = list(itertools.accumulate(VISIT_COUNT_WEIGHTS))
    weekdays = clock.weekdays
    days_in_year = network.days_in_year
    sites = [
        (
            org.locations_with(network, POS_OFFICE),
            org.locations_with(network, *POS_TELEHEALTH),
            org.locations_with(network, POS_EMERGENCY),
            org.locations_with(network, POS_INPATIENT),
            org.clinicians,
            clock.switch_days(org.zone),
        )
        for org in network.organizations
    ]
    office_slots = range(OFFICE_HOURS[0], OFFICE_HOURS[1], 15)
    tele_slots = range(TELEHEALTH_HOURS[0], TELEHEALTH_HOURS[1], 15)
    log = network.encounters
    ticker = Ticker(advance)
    for patient in network.patients:
        ticker.tick()
        if random_() < CHRONIC_SHARE[age_on(patient, network.first_day) >= 65]:
            visits = rng.randint(*CHRONIC_VISITS)
        else:
            visits = rng.choices(VISIT_COUNTS, cum_weights=count_weights)[0]
        if not visits:
            continue
        offices, telehealth, emergency, inpatient, clinicians, switch_days = sites[
            patient.organization
        ]
        rows = []
        for _ in range(visits):
            roll = random_()
            primary = PRIMARY_CLINICIAN_SHARE
            if roll < EMERGENCY_SHARE and emergency:
                location, primary = choice(emergency), 0.0
            elif roll < EMERGENCY_SHARE + INPATIENT_SHARE and inpatient:
                location, primary = choice(inpatient), 0.0
            elif roll < EMERGENCY_SHARE + INPATIENT_SHARE + TELEHEALTH_SHARE and telehealth:
                location = choice(telehealth)
            elif random_() < OTHER_OFFICE_SHARE:
                location = choice(offices)
            else:
                location = patient.office
            clinician = patient.clinician if random_() < primary else choice(clinicians)
            second = -1
            if random_() < SECOND_PARTICIPANT_SHARE and len(clinicians) > 1:
                second = choice(clinicians)
                while second == clinician:
                    second = choice(clinicians)
            status = FINISHED
            if primary:  # office or telehealth: a booked appointment
                day = choice(weekdays)
                slots = tele_slots if location in telehealth else office_slots
                minute = choice(slots)
                if random_() < CANCELLED_SHARE:
                    status = CANCELLED
            else:  # emergency room or hospital stay
                day = randrange(days_in_year)
                minute = randrange(1440)
                if minute < EARLY_MORNING and day in switch_days:
                    minute += EARLY_MORNING
            if random_() < ENTERED_IN_ERROR_SHARE:
                status = ENTERED_IN_ERROR
            rows.append((day, minute, location, clinician, second, status))
        rows.sort()
        index = patient.index
        for day, minute, location, clinician, second, status in rows:
            log.append(index, location, clinician, second, day, minute, status)
    ticker.close()
