"""Synthetic data of realistic shape for the benchmarks: police.uk street-level extracts, a 20-indicator catalogue
and quarterly returns for many areas. Everything is generated from a seed, so two runs measure the same bytes."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import duckdb

#: The 32 London boroughs and the City: the areas of a regional (London) deployment.
BOROUGHS = (
    "Barking and Dagenham", "Barnet", "Bexley", "Brent", "Bromley", "Camden", "City of London", "Croydon", "Ealing",
    "Enfield", "Greenwich", "Hackney", "Hammersmith and Fulham", "Haringey", "Harrow", "Havering", "Hillingdon",
    "Hounslow", "Islington", "Kensington and Chelsea", "Kingston upon Thames", "Lambeth", "Lewisham", "Merton",
    "Newham", "Redbridge", "Richmond upon Thames", "Southwark", "Sutton", "Tower Hamlets", "Waltham Forest",
    "Wandsworth", "Westminster",
)
HOME = "Tower Hamlets"

#: police.uk crime types with roughly London's mix (2023/24), in per cent.
CRIME_TYPES = (
    ("Violence and sexual offences", 25), ("Anti-social behaviour", 20), ("Other theft", 12), ("Vehicle crime", 9),
    ("Theft from the person", 6), ("Burglary", 6), ("Shoplifting", 5), ("Criminal damage and arson", 5),
    ("Public order", 4), ("Drugs", 3), ("Robbery", 2), ("Bicycle theft", 1), ("Other crime", 1),
    ("Possession of weapons", 1),
)
OUTCOMES = (
    "Investigation complete; no suspect identified", "Unable to prosecute suspect", "Under investigation",
    "Status update unavailable", "Court result unavailable", "Local resolution", "Awaiting court outcome",
    "Offender given a caution", "Further investigation is not in the public interest",
    "Formal action is not in the public interest", "Suspect charged as part of another case",
    "Action to be taken by another organisation", "Offender sent to prison",
)
STREETS = (
    "High Street", "Commercial Road", "Mile End Road", "Whitechapel Road", "Bethnal Green Road", "Cable Street",
    "Parking Area", "Supermarket", "Petrol Station", "Shopping Area", "Sports/Recreation Area", "Nightclub",
    "Further/Higher Educational Building", "Hospital", "Police Station", "Conference/Exhibition Centre",
    "Pedestrian Subway", "Bus/Coach Station", "Theatre/Concert Hall", "St Martin'S Le Grand", "Brick Lane",
    "Roman Road", "Burdett Road", "Westferry Road", "Manchester Road", "East India Dock Road", "Bow Road",
    "Old Ford Road", "Globe Road", "Cambridge Heath Road", "Hackney Road", "Kingsland Road", "Essex Road",
    "Upper Street", "Holloway Road", "Seven Sisters Road", "Green Lanes", "Edgware Road", "Harrow Road",
    "Uxbridge Road", "Brixton Road", "Coldharbour Lane", "Walworth Road", "Old Kent Road", "Lewisham Way",
    "Woolwich Road", "Powis Street", "Station Road", "Church Street", "Park Road",
)

STREET_COLUMNS = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                  "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context")


def _sql_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def street_csv(path: Path, rows: int, year: int = 2024, seed: int = 1, quoted: bool = False) -> Path:
    """A police.uk street-level CSV of ``rows`` crimes and ASB incidents over the 12 months of ``year``, in
    month order, across the 33 London areas (about 250 bytes a row: 1,000,000 rows are about 250 MB).

    ``quoted``: every cell quoted as RFC 4180 allows and as a spreadsheet re-saving the file writes it, with ``""``
    for an empty Context (the same records otherwise; a cell left out, as police.uk leaves an ASB's crime id, stays
    unquoted and empty)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    types, cum = [], []
    total = 0
    for name, pct in CRIME_TYPES:
        total += pct
        types.append(name)
        cum.append(total)
    # Pick a crime type from a uniform number 0..99 by its cumulative share.
    pick_type = "CASE " + " ".join(f"WHEN u < {c} THEN '{t}'" for t, c in zip(types, cum, strict=True)) + " END"
    sql = f"""
    COPY (
      WITH r AS (
        SELECT i,
               hash(i, {seed}) AS h,
               (hash(i, {seed}, 1) % 100) AS u,
               (hash(i, {seed}, 2) % 1000) AS loc
        FROM range({rows}) t(i)
      ), c AS (
        SELECT i, h, loc, {pick_type} AS crime_type,
               {_sql_list(BOROUGHS)}[1 + (h % {len(BOROUGHS)})::INTEGER] AS borough,
               (h // 64) % 180 AS lsoa
        FROM r
      )
      SELECT CASE WHEN crime_type = 'Anti-social behaviour' THEN NULL ELSE sha256(i::VARCHAR || '-{seed}') END
               AS "Crime ID",
             printf('%04d-%02d', {year}, 1 + (i * 12 // {rows})::INTEGER) AS "Month",
             'Metropolitan Police Service' AS "Reported by",
             'Metropolitan Police Service' AS "Falls within",
             CASE WHEN loc < 15 THEN NULL ELSE printf('%.6f', -0.51 + ((h // 7) % 800000) / 1000000.0) END
               AS "Longitude",
             CASE WHEN loc < 15 THEN NULL ELSE printf('%.6f', 51.29 + ((h // 11) % 400000) / 1000000.0) END
               AS "Latitude",
             CASE WHEN loc < 15 THEN 'No location' ELSE
               'On or near ' || {_sql_list(STREETS)}[1 + ((h // 13) % {len(STREETS)})::INTEGER] END AS "Location",
             CASE WHEN loc < 15 THEN NULL ELSE printf('E0100%04d', (h // 17) % 5000) END AS "LSOA code",
             CASE WHEN loc < 15 THEN NULL ELSE
               printf('%s %03d%s', borough, 1 + lsoa, chr(65 + ((h // 19) % 5)::INTEGER)) END AS "LSOA name",
             crime_type AS "Crime type",
             CASE WHEN crime_type = 'Anti-social behaviour' THEN NULL ELSE
               {_sql_list(OUTCOMES)}[1 + ((h // 23) % {len(OUTCOMES)})::INTEGER] END AS "Last outcome category",
             {"''" if quoted else "NULL"} AS "Context"
      FROM c ORDER BY i
    ) TO '{_path_sql(path)}' (HEADER, DELIMITER ','{", FORCE_QUOTE *" if quoted else ""})
    """  # noqa: S608 - built from this module's constants and numbers, no outside input
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(sql)
    finally:
        con.close()
    return path


def _path_sql(path: Path) -> str:
    return str(path).replace("'", "''")


# ------------------------------------------------------------------------------------------------
# A regional deployment: 20 indicators, many areas, 16 years of quarters
# ------------------------------------------------------------------------------------------------

FIRST_FY = 2010  # 2010/11 Q1 ... 2025/26 Q4: 64 quarters
QUARTERS = 64

#: (id, unit, frequency, direction, target, level): 5 indicators in each of the four priorities, mixing units,
#: frequencies (monthly ones get three months a quarter) and every kind of target.
INDICATORS: tuple[tuple[str, str, str, str, str, float], ...] = (
    ("A1", "count", "quarterly", "decrease", "{type: change, baseline: same_quarter_last_year, value: -5, tolerance: 5}", 900),
    ("A2", "count", "monthly", "decrease", "{type: change, baseline: previous_quarter, value: -2, tolerance: 5}", 120),
    ("A3", "percent", "quarterly", "increase", "{type: fixed, value: 80, tolerance: 5}", 78),
    ("A4", "count", "monthly", "neutral", "{type: none}", 400),
    ("A5", "rate", "quarterly", "decrease", "{type: change, baseline: previous_year_average, value: -5, tolerance: 5}", 6),
    ("B1", "count", "quarterly", "increase", "{type: fixed, value: 25, tolerance: 5}", 26),
    ("B2", "count", "quarterly", "increase", "{type: change, baseline: same_quarter_last_year, value: 5, tolerance: 5}", 700),
    ("B3", "count", "monthly", "decrease", "{type: change, baseline: same_quarter_last_year, value: -5, tolerance: 5}", 250),
    ("B4", "percent", "quarterly", "increase", "{type: change, baseline: fixed, baseline_value: 60, value: 5, tolerance: 5}", 62),
    ("B5", "count", "quarterly", "decrease", "{type: cumulative, annual: 400, tolerance: 25}", 95),
    ("C1", "percent", "quarterly", "increase", "{type: fixed, value: 85, tolerance: 5}", 84),
    ("C2", "count", "quarterly", "increase", "{type: change, baseline: same_quarter_last_year, value: 5, tolerance: 5}", 140),
    ("C3", "count", "monthly", "decrease", "{type: change, baseline: same_quarter_last_year, value: 5, tolerance: 5}", 18),
    ("C4", "count", "quarterly", "increase", "{type: cumulative, annual: 120, tolerance: 25}", 32),
    ("C5", "rate", "quarterly", "decrease", "{type: none}", 2.5),
    ("D1", "count", "quarterly", "decrease", "{type: fixed, value: 0, tolerance: 1}", 1),
    ("D2", "percent", "quarterly", "increase", "{type: fixed, value: 70, tolerance: 10}", 66),
    ("D3", "percent", "quarterly", "decrease", "{type: change, baseline: previous_year_average, value: -5, tolerance: 5}", 30),
    ("D4", "count", "quarterly", "decrease", "{type: change, baseline: same_quarter_last_year, value: -5, tolerance: 5}", 300),
    ("D5", "count", "quarterly", "neutral", "{type: none}", 55),
)
SUBGROUPS = {"A": "asb", "B": "vawg", "C": "hate", "D": "reoffending"}


def catalogue_yaml(path: Path) -> Path:
    """A catalogue of 20 indicators in four priorities (A-D, as the dashboard's priority pages expect)."""
    lines = [
        "# Generated by benchmarks/gen.py: a regional deployment's catalogue (20 indicators, mixed units and targets).",
        f"partnership: {{name: {HOME} Community Safety Partnership, area: {HOME}, rollup: worst}}",
        "periods: {first: 2010/11 Q1, last: 2030/31 Q4}",
        "priorities:",
        "  - {id: A, title: Anti-social behaviour, description: 'ASB and drug- and alcohol-related crime.'}",
        "  - {id: B, title: Violence, description: 'Domestic abuse, VAWG and violence with injury.'}",
        "  - {id: C, title: Hate crime and cohesion, description: 'Hate crime reporting and community cohesion.'}",
        "  - {id: D, title: Reducing re-offending, description: 'Integrated offender management and youth justice.'}",
        "subgroups:",
        *[f"  - {{id: {s}, name: {s.upper()} group, priority: {p}}}" for p, s in SUBGROUPS.items()],
        "indicators:",
    ]
    for iid, unit, freq, direction, target, _level in INDICATORS:
        lines += [
            f"  - id: {iid}",
            f"    priority: {iid[0]}",
            f"    owner: {SUBGROUPS[iid[0]]}",
            f"    title: Benchmark indicator {iid} ({unit}, {freq})",
            f"    definition: A synthetic {unit} for the benchmark.",
            f"    unit: {unit}",
            f"    frequency: {freq}",
            f"    direction: {direction}",
            f"    target: {target}",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _quarter_label(k: int) -> str:
    fy = FIRST_FY + k // 4
    return f"{fy}/{(fy + 1) % 100:02d} Q{k % 4 + 1}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _month_label(k: int, m: int) -> str:
    """Month ``m`` (0-2) of quarter ``k``, as ``Nov 2010`` (``2010-11`` would be ambiguous in a return)."""
    fy, first = FIRST_FY + k // 4, (k % 4) * 3 + m  # 0 = April
    year, month = (fy, first + 4) if first < 9 else (fy + 1, first - 8)
    return f"{_MONTHS[month - 1]} {year:04d}"


def returns(folder: Path, areas: int, quarters: int = QUARTERS, seed: int = 7) -> list[Path]:
    """Quarterly returns with an ``area`` column: one file per area (the home area first), every indicator for
    every quarter (three months a quarter for monthly indicators); the latest quarter of two indicators is late."""
    folder.mkdir(parents=True, exist_ok=True)
    names = list(_areas(areas))
    rng = random.Random(seed)
    out = []
    for a, area in enumerate(names):
        size = 0.6 + 0.8 * rng.random()  # boroughs differ in size
        path = folder / f"return-{a:03d}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["indicator", "period", "area", "value", "numerator", "denominator"])
            for iid, unit, freq, _direction, _target, level in INDICATORS:
                for k in range(quarters):
                    if a == 0 and k == quarters - 1 and iid in ("A3", "D4"):
                        continue  # a late return: the latest quarter has no figure
                    drift = 1 + 0.15 * ((k % 16) - 8) / 8
                    if unit == "count":
                        parts = [(_month_label(k, m), level / 3) for m in range(3)] if freq == "monthly" \
                            else [(_quarter_label(k), level)]
                        for period, base in parts:
                            v = max(0, round(rng.gauss(base * size * drift, (base * size) ** 0.5 + 1)))
                            w.writerow([iid, period, area, v, "", ""])
                    else:
                        den = max(1, round(rng.gauss(400 * size, 20)))
                        if unit == "percent":
                            num = min(den, max(0, round(den * rng.gauss(level, 4) / 100)))
                        else:
                            num = max(0, round(den * rng.gauss(level, level / 8) / 1000))
                        w.writerow([iid, _quarter_label(k), area, "", num, den])
        out.append(path)
    return out


def _areas(n: int) -> list[str]:
    """``n`` area names: the home area first, then the London boroughs, then made-up ones for a national scale."""
    names = [HOME, *[b for b in BOROUGHS if b != HOME]]
    names += [f"Area {k:03d}" for k in range(max(0, n - len(names)))]
    return names[:n]
