"""The pack's charts: each indicator's SPC chart and its rate comparison, ready to draw as vector graphics on the
page (``cspdash.pdf_charts``), and the alternative text that describes each one for people who cannot see it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cspdash import pdf_charts
from cspdash.config import Indicator
from cspdash.pdf_writer import latin1
from cspdash.status import fmt
from cspdash.vocab import VARIATION_WORDS
from cspdash.wording import unit_title

if TYPE_CHECKING:
    from cspdash.pack import PackItem

#: A chart to draw: its height in mm and ``draw(pdf, x, y, width)`` (see ``cspdash.pdf_charts``).
Drawing = tuple[float, Callable[[Any, float, float, float], float]]


def chart_drawing(item: PackItem, width: float) -> Drawing | None:
    """The item's SPC chart, ready to draw across ``width`` mm; None without data."""
    if not item.history:
        return None
    rows, title = list(item.history), unit_title(item.unit)
    return (pdf_charts.history_height(rows, width),
            lambda pdf, x, y, w: pdf_charts.history(pdf, x, y, w, rows, title))


def comparison_drawings(item: PackItem, own_area: str, width: float) -> tuple[Drawing, Drawing] | None:
    """The funnel plot and the ranked rates of an item's comparison, ready to draw across ``width`` mm; None
    without a comparison."""
    cmp = item.comparison
    if not cmp or not cmp.get("rows"):
        return None
    funnel, rows = list(cmp["funnel"]), list(cmp["rows"])
    title = f"Rate {per(cmp)}"
    return ((pdf_charts.funnel_height(width),
             lambda pdf, x, y, w: pdf_charts.funnel(pdf, x, y, w, funnel, own_area, title)),
            (pdf_charts.rates_height(rows, width),
             lambda pdf, x, y, w: pdf_charts.rates(pdf, x, y, w, rows, own_area, title)))


def chart_alt(item: PackItem) -> str:
    """A description of the chart for people who cannot see it: span, latest point, mean, limits, signals."""
    h = item.history
    if not h:
        return f"No chart for {item.indicator}: no complete figures yet."
    last = h[-1]
    ind_fmt = _formatter(item)
    parts = [f"SPC chart of {item.label}: {len(h)} points from {h[0]['period']} to {last['period']}.",
             f"Latest value {ind_fmt(last['value'])} in {last['period']}."]
    if last.get("mean") is not None:
        parts.append(f"Mean {ind_fmt(last['mean'])}.")
    if last.get("lpl") is not None and last.get("upl") is not None:
        parts.append(f"Process limits {ind_fmt(last['lpl'])} to {ind_fmt(last['upl'])}.")
    if last.get("target") is not None:
        parts.append(f"Target for the latest period {ind_fmt(last['target'])}.")
    special = [r for r in h if r.get("point_type") not in (None, "common_cause")]
    if special:
        listed = "; ".join(f"{r['period']} ({VARIATION_WORDS.get(r['point_type'], r['point_type']).lower()})"
                           for r in special[-6:])
        more = f" (latest {min(6, len(special))} of {len(special)} listed)" if len(special) > 6 else ""
        parts.append(f"Special-cause points{more}: {listed}.")
    else:
        parts.append("Every point shows common-cause variation.")
    return latin1(" ".join(parts))


def comparison_alts(item: PackItem, own_area: str) -> tuple[str, str]:
    """Descriptions of the funnel plot and of the ranked rates for people who cannot see them."""
    from cspdash.compare import rate_text

    cmp = item.comparison or {}
    rows, funnel = cmp.get("rows") or [], [r for r in cmp.get("funnel") or [] if r.get("area")]
    bench = rate_text(cmp.get("benchmark"))
    own = next((r for r in funnel if r.get("own")), None)
    beyond = [r["area"] for r in funnel if r.get("beyond") == "beyond 99.8% limits"]
    f = (f"Funnel plot of {item.label}: the rates {per(cmp)} of {len(funnel)} areas against their residents, with "
         f"95% and 99.8% limits around the London rate of {bench}. ")
    if own:
        f += f"{own_area}: {rate_text(own['rate'])} with {own['population']:,.0f} residents, {own['beyond']}. "
    f += (f"{len(beyond)} areas beyond the 99.8% limits" + (f": {', '.join(beyond)}." if beyond else "."))
    counts = {w: sum(1 for r in rows if r.get("comparison") == w) for w in ("better", "similar", "worse")}
    r = (f"Ranked rates of {item.label} with 95% intervals, highest first: {rows[0]['area']} "
         f"{rate_text(rows[0]['rate'])} to {rows[-1]['area']} {rate_text(rows[-1]['rate'])}; London {bench}. "
         if rows else f"No ranked rates for {item.label}. ")
    own_row = next((x for x in rows if x.get("own")), None)
    if own_row:
        r += f"{own_area} is {own_row['rank']} of {len(rows)}. "
    if rows and rows[0].get("comparison") != "not_compared":
        r += (f"Against London: {counts['better']} better, {counts['similar']} similar, {counts['worse']} worse "
              "(95% interval wholly on one side).")
    return latin1(f), latin1(r)


def per(cmp: dict) -> str:
    from cspdash.compare import per_text

    return per_text(cmp.get("per") or 1000.0)


def _formatter(item: PackItem):
    ind = Indicator(id=item.indicator, priority=item.priority, owner="", title=item.title, unit=item.unit,
                    frequency="quarterly", direction="neutral", target=None, decimals=item.decimals)  # type: ignore[arg-type]
    return lambda v: fmt(ind, v)
