"""Charts: pure functions from a table (built by ``cspdash.views``) to an Altair chart; no Streamlit here.

Status is never shown by colour alone: SPC point types differ in shape as well as colour, lines differ in dash
as well as colour, and the partnership's own bar is labelled in words.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from cspdash.vocab import FUNNEL_LINES, LINE_STYLE, OTHER_COLOUR, OWN_COLOUR, POINT_STYLE, WHO_STYLE

FONT = 15  # axis labels and legends: readable on a meeting-room screen


def _big(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return (chart.configure_axis(labelFontSize=FONT - 1, titleFontSize=FONT, labelLimit=320, labelColor="#000000",
                                 titleColor="#000000", gridColor="#e6e6e6")
            .configure_legend(labelFontSize=FONT - 1, titleFontSize=FONT, orient="bottom", columns=3,
                              symbolSize=160, labelLimit=320, labelColor="#000000", titleColor="#000000")
            .configure_title(fontSize=FONT + 3, anchor="start", color="#000000")
            .configure_view(stroke=None))


def history_chart(h: pd.DataFrame, title: str = "", y_title: str = "Value", height: int = 320) -> alt.TopLevelMixin:
    """The XmR chart of an indicator's history: values, mean, process limits, target and special-cause points.

    ``h`` has the columns of ``views.history_frame``: period, value, shown, mean, lpl, upl, target, point, rule and
    optionally phase, lower and upper; each phase's mean and limits are drawn as separate lines, never joined across
    a rebase, and each figure's 95% range (lower to upper) as a thin bar through its point.
    """
    order = list(h["period"])
    phase = h["phase"] if "phase" in h.columns else pd.Series(1, index=h.index)
    x = alt.X("period:O", sort=order, title=None, axis=alt.Axis(labelAngle=-45, labelOverlap=True))
    y_scale = alt.Scale(zero=False)
    lines = []
    for name, cols in (("Mean", ["mean"]), ("Process limits", ["lpl", "upl"]), ("Target", ["target"])):
        for c in cols:
            part = h[["period", c]].assign(phase=phase).dropna()
            if len(part):
                # the target is one line across phases; the mean and limits are one line per phase (detail)
                series = c if c == "target" else c + " " + part["phase"].astype(str)
                lines.append(pd.DataFrame({"period": part["period"], "y": part[c].astype(float), "line": name,
                                           "series": series}))
    layers: list[alt.Chart] = []
    if lines:
        long = pd.concat(lines, ignore_index=True)
        present = [n for n in LINE_STYLE if n in set(long["line"])]
        layers.append(alt.Chart(long).mark_line(strokeWidth=2).encode(
            x=x, y=alt.Y("y:Q", scale=y_scale, title=y_title),
            color=alt.Color("line:N", title="Lines", scale=alt.Scale(
                domain=present, range=[LINE_STYLE[n][0] for n in present])),
            strokeDash=alt.StrokeDash("line:N", title="Lines", scale=alt.Scale(
                domain=present, range=[LINE_STYLE[n][1] for n in present])),
            detail="series:N"))
    if "lower" in h.columns and h["lower"].notna().any():
        # each figure's 95% range as a thin vertical bar behind its point
        ranges = h.dropna(subset=["lower", "upper"])
        layers.append(alt.Chart(ranges).mark_rule(color="#6f6f6f", strokeWidth=1.5, opacity=0.7).encode(
            x=x, y=alt.Y("lower:Q", scale=y_scale, title=y_title), y2="upper:Q"))
    layers.append(alt.Chart(h).mark_line(color="#1a1a1a", strokeWidth=1.5).encode(
        x=x, y=alt.Y("value:Q", scale=y_scale, title=y_title)))
    kinds = [v for v in POINT_STYLE.values() if v[0] in set(h["point"])]
    layers.append(alt.Chart(h).mark_point(filled=True, opacity=1, stroke="#000000", strokeWidth=0.5).encode(
        x=x, y=alt.Y("value:Q", scale=y_scale, title=y_title),
        color=alt.Color("point:N", title="Points", scale=alt.Scale(domain=[k[0] for k in kinds],
                                                                     range=[k[1] for k in kinds])),
        shape=alt.Shape("point:N", title="Points", scale=alt.Scale(domain=[k[0] for k in kinds],
                                                                     range=[k[2] for k in kinds])),
        size=alt.condition(alt.datum.point == POINT_STYLE["common_cause"][0], alt.value(60), alt.value(180)),
        tooltip=[alt.Tooltip("period:N", title="Period"), alt.Tooltip("shown:N", title="Value"),
                 alt.Tooltip("point:N", title="Point"), alt.Tooltip("rule:N", title="Rule")]))
    chart = alt.layer(*layers).resolve_scale(color="independent", shape="independent", strokeDash="independent")
    chart = chart.properties(height=height, width="container")
    if title:
        chart = chart.properties(title=title)
    return _big(chart)


def area_chart(df: pd.DataFrame, own_area: str, x_title: str = "Value") -> alt.TopLevelMixin:
    """Every area's figure as horizontal bars, largest first, the partnership's own bar coloured and labelled.

    ``df`` has the columns of ``views.area_frame``: area, value, shown, own, rank.
    """
    data = df.assign(who=["This partnership" if o else "Other areas" for o in df["own"]],
                     label=[f"{s}  ◀ {own_area}" if o else s for s, o in zip(df["shown"], df["own"], strict=True)])
    order = list(data["area"])
    y = alt.Y("area:N", sort=order, title=None,
              axis=alt.Axis(labelFontWeight=alt.ExprRef(f"datum.value == {_js(own_area)} ? 'bold' : 'normal'")))
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("value:Q", title=x_title), y=y,
        color=alt.Color("who:N", title=None, scale=alt.Scale(domain=["This partnership", "Other areas"],
                                                             range=[OWN_COLOUR, OTHER_COLOUR])),
        tooltip=[alt.Tooltip("area:N", title="Area"), alt.Tooltip("shown:N", title="Value"),
                 alt.Tooltip("rank:Q", title="Rank")])
    text = alt.Chart(data[~data["own"]]).mark_text(align="left", dx=4, fontSize=FONT - 2).encode(
        x="value:Q", y=y, text="label:N")
    own = alt.Chart(data[data["own"]]).mark_text(align="left", dx=4, fontSize=FONT, fontWeight="bold").encode(
        x="value:Q", y=y, text="label:N")
    chart = alt.layer(bars, text, own).properties(height=max(120, 22 * len(data)), width="container")
    return _big(chart)


def _who(df: pd.DataFrame) -> pd.Series:
    return pd.Series(["This partnership" if o else "Most-similar group" if s else "Other areas"
                      for o, s in zip(df["own"], df["similar"], strict=True)], index=df.index)


def _who_encoding() -> tuple[alt.Color, alt.Shape]:
    domain = list(WHO_STYLE)
    return (alt.Color("who:N", title=None, scale=alt.Scale(domain=domain, range=[WHO_STYLE[w][0] for w in domain])),
            alt.Shape("who:N", title=None, scale=alt.Scale(domain=domain, range=[WHO_STYLE[w][1] for w in domain])))


def funnel_chart(df: pd.DataFrame, own_area: str, y_title: str = "Rate per 1,000 residents",
                 height: int = 360) -> alt.TopLevelMixin:
    """Rate against residents: every area as a point (own area a labelled diamond, the most-similar group squares)
    inside the benchmark's 95% and 99.8% limits.

    ``df`` has the columns of ``views.funnel_frame``: area (empty on grid rows), population, rate, own, similar,
    benchmark, lower95, upper95, lower998, upper998.
    """
    lines = []
    for name, cols in (("London (benchmark)", ["benchmark"]), ("95% limits", ["lower95", "upper95"]),
                       ("99.8% limits", ["lower998", "upper998"])):
        for c in cols:
            lines.append(pd.DataFrame({"population": df["population"], "y": df[c], "line": name, "series": c}))
    long = pd.concat(lines, ignore_index=True)
    x = alt.X("population:Q", title="Residents", scale=alt.Scale(zero=False), axis=alt.Axis(format="~s"))
    y_scale = alt.Scale(zero=False)
    limit = alt.Chart(long).mark_line(strokeWidth=1.5).encode(
        x=x, y=alt.Y("y:Q", title=y_title, scale=y_scale),
        color=alt.Color("line:N", title="Lines", scale=alt.Scale(domain=list(FUNNEL_LINES),
                                                                 range=[v[0] for v in FUNNEL_LINES.values()])),
        strokeDash=alt.StrokeDash("line:N", title="Lines", scale=alt.Scale(
            domain=list(FUNNEL_LINES), range=[v[1] for v in FUNNEL_LINES.values()])),
        detail="series:N")
    pts = df[df["area"].notna()].assign(who=lambda d: _who(d))
    color, shape = _who_encoding()
    points = alt.Chart(pts).mark_point(filled=True, size=110, opacity=1, stroke="#000000", strokeWidth=0.5).encode(
        x=x, y=alt.Y("rate:Q", title=y_title, scale=y_scale), color=color, shape=shape,
        tooltip=[alt.Tooltip("area:N", title="Area"), alt.Tooltip("population:Q", title="Residents", format=",.0f"),
                 alt.Tooltip("rate:Q", title="Rate", format=",.2f")])
    label = alt.Chart(pts[pts["own"]].assign(label=own_area)).mark_text(
        align="left", dx=9, fontSize=FONT, fontWeight="bold").encode(x=x, y=alt.Y("rate:Q", scale=y_scale),
                                                                     text="label:N")
    chart = alt.layer(limit, points, label).resolve_scale(color="independent", shape="independent",
                                                          strokeDash="independent")
    return _big(chart.properties(height=height, width="container"))


def rate_chart(df: pd.DataFrame, own_area: str, x_title: str = "Rate per 1,000 residents",
               row_height: int = 20) -> alt.TopLevelMixin:
    """Every area's rate as a dot with its 95% interval, highest first, the benchmark as a vertical line, the own
    area a labelled diamond and the most-similar group squares.

    ``df`` has the columns of ``views.rate_frame``: area, rate, lower, upper, own, similar, shown, interval,
    comparison, benchmark.
    """
    data = df.assign(who=_who(df), label=[f"{s} ({own_area})" if o else ""
                                           for s, o in zip(df["shown"], df["own"], strict=True)])
    order = list(data["area"])
    y = alt.Y("area:N", sort=order, title=None,
              axis=alt.Axis(labelFontWeight=alt.ExprRef(f"datum.value == {_js(own_area)} ? 'bold' : 'normal'")))
    x = alt.X("rate:Q", title=x_title, scale=alt.Scale(zero=False))
    bars = alt.Chart(data).mark_rule(color="#6f6f6f", strokeWidth=2).encode(x=alt.X("lower:Q", title=x_title),
                                                                           x2="upper:Q", y=y)
    color, shape = _who_encoding()
    dots = alt.Chart(data).mark_point(filled=True, size=90, opacity=1, stroke="#000000", strokeWidth=0.5).encode(
        x=x, y=y, color=color, shape=shape,
        tooltip=[alt.Tooltip("area:N", title="Area"), alt.Tooltip("shown:N", title="Rate"),
                 alt.Tooltip("interval:N", title="95% interval"), alt.Tooltip("comparison:N", title="Against London")])
    bench = alt.Chart(data.head(1)).mark_rule(color="#000000", strokeDash=[6, 3], strokeWidth=1.5).encode(
        x="benchmark:Q")
    own = alt.Chart(data[data["own"]]).mark_text(align="left", dx=6, fontSize=FONT, fontWeight="bold").encode(
        x="upper:Q", y=y, text="label:N")
    chart = alt.layer(bars, bench, dots, own).properties(height=max(120, row_height * len(data)), width="container")
    return _big(chart)


def _js(text: str) -> str:
    """A JavaScript string literal for a Vega expression."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
