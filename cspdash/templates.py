"""Return templates generated from the catalogue: one per subgroup, listing its indicators."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from cspdash.config import Catalogue
from cspdash.errors import CspdashError
from cspdash.periods import Period, parse_period
from cspdash.status import rated_grain

TEMPLATE_COLUMNS = ("indicator", "title", "period", "value", "numerator", "denominator", "area", "commentary")


def template_rows(cat: Catalogue, subgroup: str, period: str | None = None) -> list[dict[str, str]]:
    """One row per indicator the subgroup owns (computed ones excluded), pre-filled with the period."""
    if subgroup not in {s.id for s in cat.subgroups}:
        raise CspdashError(f"no subgroup {subgroup!r}; expected one of {'|'.join(s.id for s in cat.subgroups)}")
    quarter = parse_period(period, grain="quarter") if period else Period.containing(date.today()).previous()
    rows = []
    for ind in cat.indicators_of(owner=subgroup):
        if ind.measure is not None:
            continue  # computed from a record-level dataset, not returned by hand
        p = quarter.at(rated_grain(ind))
        rows.append({"indicator": ind.id, "title": neutralise(ind.title), "period": p.label, "value": "",
                     "numerator": "", "denominator": "", "area": "", "commentary": ""})
    return rows


def neutralise(text: str) -> str:
    """Text that a spreadsheet will not run as a formula (a leading = + - @ gets a quote)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def write_template(cat: Catalogue, subgroup: str, out: str | Path, period: str | None = None) -> Path:
    """Write the template as CSV or XLSX (by the file's extension)."""
    path = Path(out)
    rows = template_rows(cat, subgroup, period)
    if path.suffix.lower() == ".xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Return"
        ws.append(list(TEMPLATE_COLUMNS))
        for r in rows:
            ws.append([r[c] for c in TEMPLATE_COLUMNS])
        guide = wb.create_sheet("Guide")
        guide.append(["indicator", "title", "unit", "how to fill in", "definition"])
        for ind in cat.indicators_of(owner=subgroup):
            how = ("give numerator and denominator (leave value empty)" if ind.has_ratio
                   else "give the count in value")
            guide.append([ind.id, neutralise(ind.title), ind.unit, how, neutralise(ind.definition)])
        wb.save(path)
    elif path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8-sig") as f:
            w = csv.DictWriter(f, fieldnames=TEMPLATE_COLUMNS)
            w.writeheader()
            w.writerows(rows)
    else:
        raise CspdashError(f"{path.name}: a template is written as .csv or .xlsx")
    return path
