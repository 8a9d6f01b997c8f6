"""``/practice/measures/trend``: the rate month by month per row of the measure report.

One ``engine.compute`` per calendar month of the period (at most ``MAX_TREND_MONTHS``), drawn as
inline SVG small multiples with the same numbers in a table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace
from typing import TypedDict

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from carethread.measures import engine
from carethread.measures.programs import Numerator
from carethread.web.decorators import AuthedRequest, signed_in_never_cached
from carethread.web.measures.forms import audit_report, checked, valid_query
from carethread.web.measures.text import names, percent

MAX_TREND_MONTHS = 24


class Series(TypedDict):
    """One row's months: its rate and its (numerator, denominator), None where the month has
    no such row."""

    rates: list[float | None]
    cells: list[tuple[int | None, int | None] | None]


# -- the rate over time --------------------------------------------------------------------------


def months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The calendar months of ``start..end``, clipped to it."""
    spans = []
    first = start
    while first <= end:
        following = (first.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        spans.append((first, min(end, following - dt.timedelta(days=1))))
        first = following
    return spans


CHART_W, CHART_H = 320, 150
PAD_L, PAD_R, PAD_T, PAD_B = 44, 10, 10, 26
SCALES = (0.1, 0.2, 0.25, 0.5, 1.0)


def chart_scale(series: Iterable[Series], threshold: float | None) -> float:
    top = max([threshold or 0.0] + [r for s in series for r in s["rates"] if r is not None])
    return next(scale for scale in SCALES if top <= scale)


def chart(
    series: Series, labels: list[str], short: list[str], scale: float, gate: float | None
) -> dict[str, object]:
    """The geometry of one small chart (viewBox units); None rates break the line."""
    n = len(labels)
    width = CHART_W - PAD_L - PAD_R
    height = CHART_H - PAD_T - PAD_B

    def x(i: int) -> float:
        return round(PAD_L + (width * (i + 0.5) / n), 1)

    def y(rate: float) -> float:
        return round(PAD_T + height * (1 - min(rate, scale) / scale), 1)

    lines: list[str] = []
    current: list[str] = []
    dots: list[dict[str, object]] = []
    for i, rate in enumerate(series["rates"]):
        if rate is None:
            if current:
                lines.append(" ".join(current))
            current = []
            continue
        current.append(f"{x(i)},{y(rate)}")
        dots.append({"x": x(i), "y": y(rate), "label": f"{labels[i]}: {percent(rate)}"})
    if current:
        lines.append(" ".join(current))
    step = 1 if n <= 12 else 3
    return {
        "lines": lines,
        "dots": dots,
        "grid": [
            {"y": y(value), "label": f"{value * 100:g}%"} for value in (0.0, scale / 2, scale)
        ],
        "ticks": [{"x": x(i), "label": short[i]} for i in range(0, n, step)],
        "threshold": None if gate is None else y(gate),
        "left": PAD_L,
        "right": CHART_W - PAD_R,
        "bottom": CHART_H - PAD_B,
        "label_y": CHART_H - 8,
    }


def describe(series: Series, labels: list[str]) -> str:
    known = [(labels[i], r) for i, r in enumerate(series["rates"]) if r is not None]
    if not known:
        return "No patients seen in any month."
    (first_label, first), (last_label, last) = known[0], known[-1]
    return (
        f"Monthly rate from {percent(first)} in {first_label} to {percent(last)} in "
        f"{last_label}; lowest {percent(min(r for _l, r in known))}, highest "
        f"{percent(max(r for _l, r in known))}."
    )


@signed_in_never_cached
@require_GET
def trend(request: AuthedRequest) -> HttpResponse:
    orgs, form, query = valid_query(request)
    measure = checked(form, query, orgs)
    context: dict[str, object] = {"form": form, "dashboard_url": query.url("measures_dashboard")}
    if measure is None:
        return render(request, "measures/trend.html", context, status=400)
    context.update(program=measure.program, measure=measure)
    spans = months(measure.start, measure.end)
    if measure.program.numerator is Numerator.CAPABILITY:
        context["problem"] = (
            f"{measure.program.id} is a yes/no capability: it has no rate to chart."
        )
        return render(request, "measures/trend.html", context)
    if len(spans) > MAX_TREND_MONTHS:
        context["problem"] = (
            f"The chart covers at most {MAX_TREND_MONTHS} months: choose a shorter period."
        )
        return render(request, "measures/trend.html", context, status=400)
    labels = [first.strftime("%b %Y") for first, _last in spans]
    short = [first.strftime("%b" if len(spans) <= 12 else "%b %y") for first, _last in spans]
    series: dict[tuple[str | None, str | None], Series] = {}
    for i, (first, last) in enumerate(spans):
        doc = engine.compute(replace(measure, start=first, end=last))
        for row in doc["results"]:
            key = (row["tin"], row["npi"])
            if key not in series:
                series[key] = {"rates": [None] * len(spans), "cells": [None] * len(spans)}
            series[key]["rates"][i] = row["rate"]
            series[key]["cells"][i] = (row["numerator"], row["denominator"])
    orgs_named, people = names(series)
    threshold = measure.program.threshold
    gate = (
        None
        if threshold is None or threshold.rate_gt is None
        else (threshold.rate_gt[0] / threshold.rate_gt[1])
    )
    scale = chart_scale(series.values(), gate)
    charts = []
    for n, (key, found) in enumerate(
        sorted(series.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or ""))
    ):
        tin, npi = key
        who = people.get(npi or "") if npi else orgs_named.get(tin or "", "")
        title = ", ".join(
            part for part in (who, f"NPI {npi}" if npi else "", f"TIN {tin}" if tin else "") if part
        )
        charts.append(
            {
                "id": f"trend-{n}",
                "title": title,
                "desc": describe(found, labels),
                "geometry": chart(found, labels, short, scale, gate),
                "cells": [
                    {"rate": percent(r), "counts": c}
                    for r, c in zip(found["rates"], found["cells"], strict=True)
                ],
            }
        )
    audit_report(request, measure, "chart", len(charts), 0)
    context.update(
        labels=labels,
        charts=charts,
        width=CHART_W,
        height=CHART_H,
        gate=None if gate is None else percent(gate),
    )
    return render(request, "measures/trend.html", context)
