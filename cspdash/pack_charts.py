"""The pack's charts: each indicator's SPC chart and its rate comparison as images, and the alternative text
that describes each one for people who cannot see it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cspdash.config import Indicator
from cspdash.pdf_writer import latin1
from cspdash.status import fmt
from cspdash.vocab import VARIATION_WORDS
from cspdash.wording import unit_title

if TYPE_CHECKING:
    from cspdash.pack import PackItem

CHART_WIDTH_PX = 680
CHART_HEIGHT_PX = 150


def chart_png(item: PackItem) -> bytes | None:
    """The item's SPC history chart as a PNG, rendered on the server (no browser, no network); None without data."""
    if not item.history:
        return None
    import pandas as pd
    import vl_convert as vlc

    from cspdash import charts

    chart = charts.history_chart(pd.DataFrame(list(item.history)), y_title=unit_title(item.unit),
                                 height=CHART_HEIGHT_PX)
    spec = chart.to_dict(validate=False)  # the builder's own output: validation costs ~0.1 s a chart
    spec["width"] = CHART_WIDTH_PX  # the screen's chart fills its container; a file needs a size
    spec["background"] = "white"
    return vlc.vegalite_to_png(spec, scale=2)


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


def comparison_pngs(item: PackItem, own_area: str) -> tuple[bytes, bytes] | None:
    """The funnel plot and the ranked rates of an item's comparison as PNGs; None without a comparison."""
    cmp = item.comparison
    if not cmp or not cmp.get("rows"):
        return None
    import pandas as pd
    import vl_convert as vlc

    from cspdash import charts
    from cspdash.compare import per_text

    title = f"Rate {per_text(cmp['per'])}"
    out = []
    for chart in (charts.funnel_chart(pd.DataFrame(cmp["funnel"]), own_area, y_title=title, height=230),
                  charts.rate_chart(pd.DataFrame(cmp["rows"]), own_area, x_title=title, row_height=11)):
        spec = chart.to_dict(validate=False)
        spec["width"] = CHART_WIDTH_PX
        spec["background"] = "white"
        out.append(vlc.vegalite_to_png(spec, scale=1.5))  # two charts an indicator: lighter than the SPC chart
    return out[0], out[1]


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
