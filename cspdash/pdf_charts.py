"""The pack's charts drawn as vector graphics straight onto the PDF page: the SPC chart, the funnel plot and the
ranked rates, from the same rows as the screen's Altair charts (``cspdash.charts``) and in the same styles
(``cspdash.vocab``: line colours and dashes, point colours and shapes, the legend's words).

Drawing with fpdf2's own lines, shapes and text takes milliseconds a chart, where rendering the Vega-Lite chart to an
image took a third of a second (docs/performance.md); the charts stay sharp at any zoom and their words are text.
Each function draws at ``(x, y)`` across width ``w`` (millimetres) and returns the height it used; ``*_height``
says that height beforehand, so the writer can keep a chart on one page. The caller tags the whole drawing as one
Figure with its alternative text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from cspdash.pdf_writer import latin1
from cspdash.vocab import FUNNEL_LINES, LINE_STYLE, POINT_STYLE, WHO_STYLE, rgb

FONT = 7.0  # points: axis labels and legends
TICK = FONT * 0.3528  # the font's height in mm
GRID, AXIS, RANGE, VALUE = "#e6e6e6", "#8c8c8c", "#8f8f8f", "#1a1a1a"
SPC_PLOT_H = 36.0
FUNNEL_PLOT_H = 52.0
RATE_ROW_H = 3.1
LEGEND_H = 6.5


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering ``lo`` to ``hi`` (about ``count`` of them, steps of 1, 2 or 5 times a power of 10)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        lo, hi = lo - (abs(lo) or 1) * 0.1, hi + (abs(hi) or 1) * 0.1
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * 0.75)  # 5 to 7 ticks
    start = math.floor(lo / step + 1e-9) * step
    ticks = []
    v = start
    while v < hi + step * 0.999:
        ticks.append(round(v, 10))
        v += step
    return ticks


def tick_text(v: float, step: float, short: bool = False) -> str:
    """``4,800``, ``1.5``, ``140k`` (``short``: thousands as k)."""
    if short and abs(v) >= 1000:
        return f"{v / 1000:,.{max(0, -math.floor(math.log10(step / 1000)))}f}k" if step < 1000 else f"{v / 1000:,.0f}k"
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    while step < 1 and abs(step * 10 ** decimals - round(step * 10 ** decimals)) > 1e-9:
        decimals += 1
    return f"{v:,.{decimals}f}"


class _Axes:
    """A plot area in millimetres and the value ranges it shows."""

    def __init__(self, x: float, y: float, w: float, h: float, ylo: float, yhi: float,
                 xlo: float = 0.0, xhi: float = 1.0) -> None:
        self.x, self.y, self.w, self.h = x, y, w, h
        self.ylo, self.yhi, self.xlo, self.xhi = ylo, yhi, xlo, xhi

    def px(self, v: float) -> float:
        return self.x + (v - self.xlo) / ((self.xhi - self.xlo) or 1) * self.w

    def py(self, v: float) -> float:
        return self.y + self.h - (v - self.ylo) / ((self.yhi - self.ylo) or 1) * self.h


def _stroke(pdf: Any, colour: str, width: float = 0.3, dash: Sequence[float] = (1, 0)) -> None:
    pdf.set_draw_color(*rgb(colour))
    pdf.set_line_width(width)
    on, off = (dash[0], dash[1]) if len(dash) > 1 else (1, 0)
    pdf.set_dash_pattern(dash=on * 0.35 if off else 0, gap=off * 0.35 if off else 0)


def _reset(pdf: Any) -> None:
    pdf.set_dash_pattern()
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_fill_color(255, 255, 255)
    pdf.set_text_color(0, 0, 0)


def _text(pdf: Any, x: float, y: float, text: str, size: float = FONT, style: str = "", align: str = "L") -> float:
    """Text with its baseline at ``y``; ``align`` R ends it at ``x``, C centres it. Returns its width."""
    pdf.set_font("Helvetica", style, size)
    text = latin1(text)
    width = pdf.get_string_width(text)
    left = x - width if align == "R" else x - width / 2 if align == "C" else x
    pdf.text(left, y, text)
    return width


def _lines(pdf: Any, points: Sequence[tuple[float, float] | None]) -> None:
    """A polyline broken wherever a point is None."""
    run: list[tuple[float, float]] = []
    for p in [*points, None]:
        if p is None:
            if len(run) > 1:
                pdf.polyline(run, style="D")
            run = []
        else:
            run.append(p)


def _marker(pdf: Any, shape: str, cx: float, cy: float, r: float, colour: str) -> None:
    """A filled point with a thin black outline: circle, square, diamond, triangle-up or triangle-down."""
    pdf.set_fill_color(*rgb(colour))
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.12)
    pdf.set_dash_pattern()
    if shape == "circle":
        pdf.circle(cx, cy, r, style="DF")
    elif shape == "square":
        s = r * 0.9
        pdf.rect(cx - s, cy - s, 2 * s, 2 * s, style="DF")
    elif shape == "diamond":
        pdf.polygon([(cx, cy - r * 1.2), (cx + r, cy), (cx, cy + r * 1.2), (cx - r, cy)], style="DF")
    elif shape == "triangle-down":
        pdf.polygon([(cx - r * 1.1, cy - r * 0.8), (cx + r * 1.1, cy - r * 0.8), (cx, cy + r * 1.1)], style="DF")
    else:  # triangle-up
        pdf.polygon([(cx - r * 1.1, cy + r * 0.8), (cx + r * 1.1, cy + r * 0.8), (cx, cy - r * 1.1)], style="DF")


def _y_axis(pdf: Any, ax: _Axes, ticks: list[float], title: str, title_x: float, short: bool = False) -> None:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    for t in ticks:
        _stroke(pdf, GRID, 0.2)
        pdf.line(ax.x, ax.py(t), ax.x + ax.w, ax.py(t))
        _text(pdf, ax.x - 1.2, ax.py(t) + TICK * 0.35, tick_text(t, step, short), align="R")
    _stroke(pdf, AXIS, 0.25)
    pdf.line(ax.x, ax.y, ax.x, ax.y + ax.h)
    with pdf.rotation(90, x=title_x, y=ax.y + ax.h / 2):
        _text(pdf, title_x, ax.y + ax.h / 2, title, FONT + 0.5, "B", align="C")


def _x_axis(pdf: Any, ax: _Axes, ticks: list[float], title: str, short: bool = False) -> float:
    """Vertical grid lines, tick labels and the title under the plot; returns the height under it."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    base = ax.y + ax.h
    for t in ticks:
        _stroke(pdf, GRID, 0.2)
        pdf.line(ax.px(t), ax.y, ax.px(t), base)
        _text(pdf, ax.px(t), base + 1 + TICK, tick_text(t, step, short), align="C")
    _stroke(pdf, AXIS, 0.25)
    pdf.line(ax.x, base, ax.x + ax.w, base)
    _text(pdf, ax.x + ax.w / 2, base + 3 + 2 * TICK, title, FONT + 0.5, "B", align="C")
    return 4 + 2 * TICK


Sample = Callable[[float, float], None]


def text_width(text: str, bold: bool = False, size: float = FONT) -> float:
    """The width in mm of ``text`` in Helvetica (the PDF core font's own metrics; no document needed)."""
    from fpdf.fonts import CORE_FONTS_CHARWIDTHS

    widths = CORE_FONTS_CHARWIDTHS["helveticaB" if bold else "helvetica"]
    return sum(widths.get(c, 500) for c in latin1(text)) * size / 1000 * 25.4 / 72


def _entry_width(words: str) -> float:
    return 5 + text_width(words) + 3


def legend_lines(groups: Sequence[tuple[str, Sequence[str]]], w: float) -> list[list[tuple[str, int]]]:
    """The legend planned in lines across ``w`` mm: each line a list of (words, group number); a group's title
    starts each group (number -1 marks a title)."""
    lines: list[list[tuple[str, int]]] = [[]]
    used = 0.0
    for g, (title, entries) in enumerate(groups):
        if not entries:
            continue
        for k, words in enumerate([title, *entries]):
            width = text_width(words, bold=True) + 2 if k == 0 else _entry_width(words)
            if lines[-1] and used + width > w:
                lines.append([])
                used = 0.0
            lines[-1].append((words, -1 if k == 0 else g))
            used += width
    return lines


def legend_height(groups: Sequence[tuple[str, Sequence[str]]], w: float) -> float:
    return LEGEND_H + (len(legend_lines(groups, w)) - 1) * (TICK + 2)


def _legend(pdf: Any, x: float, y: float, w: float,
            groups: Sequence[tuple[str, Sequence[tuple[str, Sample]]]]) -> None:
    """The legend under a chart: each group's bold title, then each entry's sample and words, wrapped across ``w``."""
    samples = {(g, words): sample for g, (_, entries) in enumerate(groups) for words, sample in entries}
    plan = legend_lines([(t, [words for words, _ in e]) for t, e in groups], w)
    for n, line in enumerate(plan):
        cx, cy = x, y + n * (TICK + 2)
        for words, g in line:
            if g < 0:
                _text(pdf, cx, cy + TICK, words, FONT, "B")
                cx += text_width(words, bold=True) + 2
            else:
                samples[(g, words)](cx, cy + TICK * 0.65)
                _text(pdf, cx + 5, cy + TICK, words)
                cx += _entry_width(words)


def _line_sample(pdf: Any, colour: str, dash: Sequence[float]) -> Sample:
    def draw(x: float, y: float) -> None:
        _stroke(pdf, colour, 0.45, dash)
        pdf.line(x, y, x + 4, y)
        _reset(pdf)
    return draw


def _marker_sample(pdf: Any, shape: str, colour: str) -> Sample:
    return lambda x, y: _marker(pdf, shape, x + 2, y, 1.1, colour)


# --- the SPC chart ----------------------------------------------------------------------------------------------

SPC_LINES = (("Mean", ("mean",)), ("Process limits", ("lpl", "upl")), ("Target", ("target",)))


def _history_legend(rows: Sequence[dict]) -> list[tuple[str, list[str]]]:
    """The SPC chart's legend: the lines drawn (two points or more) and the kinds of point present."""
    lines = [name for name, keys in SPC_LINES
             if any(sum(r.get(k) is not None for r in rows) > 1 for k in keys)]
    kinds = [label for kind, (label, _, _) in POINT_STYLE.items()
             if any(r.get("point_type") == kind and r.get("value") is not None for r in rows)]
    return [("Lines", lines), ("Points", kinds)]


def history_height(rows: Sequence[dict], w: float) -> float:
    """The height ``history`` will use across ``w`` mm."""
    longest = max((len(str(r["period"])) for r in rows), default=0)  # the rotated period labels: ~0.9 mm a letter
    return 2 + SPC_PLOT_H + 3 + longest * 0.9 + legend_height(_history_legend(rows), w - 17)


def history(pdf: Any, x: float, y: float, w: float, rows: Sequence[dict], y_title: str) -> float:
    """The XmR chart of ``views.history_frame`` rows: values with their 95% ranges, mean and process limits per
    phase, the target, and each point's SPC type by colour and shape; returns the height used."""
    values = [r.get(k) for r in rows for k in ("value", "lower", "upper", "mean", "lpl", "upl", "target")]
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    ticks = nice_ticks(min(finite, default=0.0), max(finite, default=1.0))
    ax = _Axes(x + 17, y + 2, w - 19, SPC_PLOT_H, ticks[0], ticks[-1], 0, max(len(rows), 1))
    _y_axis(pdf, ax, ticks, y_title, x + 2)
    centre = [ax.px(i + 0.5) for i in range(len(rows))]

    def at(i: int, key: str) -> tuple[float, float] | None:
        v = rows[i].get(key)
        return None if v is None else (centre[i], ax.py(float(v)))

    def series(key: str, by_phase: bool) -> list[tuple[float, float] | None]:
        out: list[tuple[float, float] | None] = []
        for i in range(len(rows)):
            if by_phase and i and rows[i].get("phase") != rows[i - 1].get("phase"):
                out.append(None)  # never joined across a rebase
            out.append(at(i, key))
        return out

    for name, keys in SPC_LINES:
        colour, dash = LINE_STYLE[name]
        for key in keys:
            _stroke(pdf, colour, 0.45, dash)
            _lines(pdf, series(key, key != "target"))
    _stroke(pdf, RANGE, 0.3)
    for i, r in enumerate(rows):  # each figure's 95% range as a thin bar through its point
        if r.get("lower") is not None and r.get("upper") is not None:
            pdf.line(centre[i], ax.py(float(r["lower"])), centre[i], ax.py(float(r["upper"])))
    _stroke(pdf, VALUE, 0.35)
    _lines(pdf, [at(i, "value") for i in range(len(rows))])
    for kind, (_, colour, shape) in POINT_STYLE.items():
        for i, r in enumerate(rows):
            if r.get("point_type") == kind and r.get("value") is not None:
                _marker(pdf, shape, centre[i], ax.py(float(r["value"])), 0.75 if kind == "common_cause" else 1.15,
                        colour)
    _stroke(pdf, AXIS, 0.25)
    base = ax.y + ax.h
    pdf.line(ax.x, base, ax.x + ax.w, base)
    every = max(1, math.ceil(5.5 / (ax.w / max(len(rows), 1))))  # labels at least 5.5 mm apart
    for i in range(0, len(rows), every):
        pdf.line(centre[i], base, centre[i], base + 0.8)
        with pdf.rotation(45, x=centre[i], y=base + 1.6):
            _text(pdf, centre[i], base + 1.6 + TICK * 0.35, str(rows[i]["period"]), align="R")
    _reset(pdf)
    (_, lines), (_, kinds) = _history_legend(rows)
    styles = {label: (colour, shape) for label, colour, shape in POINT_STYLE.values()}
    height = history_height(rows, w)
    _legend(pdf, x + 17, y + height - legend_height(_history_legend(rows), w - 17) + 1.5, w - 17, [
        ("Lines", [(n, _line_sample(pdf, *LINE_STYLE[n])) for n in lines]),
        ("Points", [(k, _marker_sample(pdf, styles[k][1], styles[k][0])) for k in kinds])])
    _reset(pdf)
    return height


# --- the comparison charts --------------------------------------------------------------------------------------

def _who(r: dict) -> str:
    return "This partnership" if r.get("own") else "Most-similar group" if r.get("similar") else "Other areas"


def _who_legend(pdf: Any) -> list[tuple[str, Sample]]:
    return [(who, _marker_sample(pdf, shape, colour)) for who, (colour, shape) in WHO_STYLE.items()]


FUNNEL_LEGEND = [("Lines", list(FUNNEL_LINES)), ("Areas", list(WHO_STYLE))]


def funnel_height(w: float) -> float:
    """The height ``funnel`` will use across ``w`` mm."""
    return 2 + FUNNEL_PLOT_H + 4 + 3 * TICK + legend_height(FUNNEL_LEGEND, w - 17)


def funnel(pdf: Any, x: float, y: float, w: float, rows: Sequence[dict], own_area: str, y_title: str) -> float:
    """Rate against residents (``views.funnel_frame`` rows): each area a point inside the benchmark's 95% and 99.8%
    limits, the own area a labelled diamond, the most-similar group squares; returns the height used."""
    grid = sorted((r for r in rows if r.get("population") is not None), key=lambda r: r["population"])
    areas = [r for r in rows if r.get("area") and r.get("rate") is not None]
    ys = [float(r[k]) for r in grid for k in ("benchmark", "lower95", "upper95", "lower998", "upper998", "rate")
          if r.get(k) is not None and (k != "rate" or r.get("area"))]
    xs = [float(r["population"]) for r in grid]
    yt, xt = nice_ticks(min(ys, default=0.0), max(ys, default=1.0)), nice_ticks(min(xs, default=0.0),
                                                                              max(xs, default=1.0), 8)
    ax = _Axes(x + 17, y + 2, w - 19, FUNNEL_PLOT_H, yt[0], yt[-1], xt[0], xt[-1])
    _y_axis(pdf, ax, yt, y_title, x + 2)
    _x_axis(pdf, ax, xt, "Residents", short=True)
    lines = []
    for name, keys in (("London (benchmark)", ("benchmark",)), ("95% limits", ("lower95", "upper95")),
                       ("99.8% limits", ("lower998", "upper998"))):
        colour, dash = FUNNEL_LINES[name]
        _stroke(pdf, colour, 0.4, dash)
        for key in keys:
            _lines(pdf, [(ax.px(float(r["population"])), ax.py(float(r[key]))) if r.get(key) is not None else None
                         for r in grid])
        lines.append((name, _line_sample(pdf, colour, dash)))
    own: tuple[float, float] | None = None
    for r in sorted(areas, key=lambda r: (bool(r.get("own")), bool(r.get("similar")))):  # own area drawn last
        colour, shape = WHO_STYLE[_who(r)]
        cx, cy = ax.px(float(r["population"])), ax.py(float(r["rate"]))
        _marker(pdf, shape, cx, cy, 1.1, colour)
        if r.get("own"):
            own = (cx, cy)
    if own:  # the own area's name last, on a white ground, so no point hides it
        pdf.set_font("Helvetica", "B", FONT + 0.5)
        pdf.set_fill_color(255, 255, 255)
        pdf.rect(own[0] + 1.6, own[1] - TICK * 0.6, pdf.get_string_width(latin1(own_area)) + 0.8, TICK * 1.25, style="F")
        _text(pdf, own[0] + 2, own[1] + TICK * 0.35, own_area, FONT + 0.5, "B")
    _reset(pdf)
    height = funnel_height(w)
    _legend(pdf, x + 17, y + height - legend_height(FUNNEL_LEGEND, w - 17) + 1.5, w - 17,
            [("Lines", lines), ("Areas", _who_legend(pdf))])
    _reset(pdf)
    return height


def rates_height(rows: Sequence[dict], w: float) -> float:
    """The height ``rates`` will use across ``w`` mm."""
    return 2 + len(rows) * RATE_ROW_H + 4 + 3 * TICK + legend_height([("Areas", list(WHO_STYLE))], w)


def rates(pdf: Any, x: float, y: float, w: float, rows: Sequence[dict], own_area: str, x_title: str) -> float:
    """Every area's rate (``views.rate_frame`` rows, highest first) as a dot with its 95% interval, the benchmark as a
    dashed vertical line, the own area a labelled diamond in bold; returns the height used."""
    pdf.set_font("Helvetica", "B", FONT)
    label_w = max((pdf.get_string_width(latin1(r["area"])) for r in rows), default=10) + 2
    bench = rows[0].get("benchmark") if rows else None
    xs = [float(r[k]) for r in rows for k in ("lower", "upper", "rate") if r.get(k) is not None]
    if bench is not None:
        xs.append(float(bench))
    xt = nice_ticks(min(xs, default=0.0), max(xs, default=1.0), 8)
    own_label = next((f"{r['shown']} ({own_area})" for r in rows if r.get("own")), "")
    pdf.set_font("Helvetica", "B", FONT + 0.5)
    room = pdf.get_string_width(latin1(own_label)) * 0.6
    ax = _Axes(x + label_w, y + 2, w - label_w - 2 - room, len(rows) * RATE_ROW_H, 0, len(rows), xt[0], xt[-1])
    _x_axis(pdf, ax, xt, x_title)
    if bench is not None:
        _stroke(pdf, "#000000", 0.4, (6, 3))
        pdf.line(ax.px(float(bench)), ax.y, ax.px(float(bench)), ax.y + ax.h)
    for i, r in enumerate(rows):
        cy = ax.y + (i + 0.5) * RATE_ROW_H
        _text(pdf, ax.x - 1.2, cy + TICK * 0.35, r["area"], FONT, "B" if r.get("own") else "", align="R")
        if r.get("lower") is not None and r.get("upper") is not None:
            _stroke(pdf, "#6f6f6f", 0.45)
            pdf.line(ax.px(float(r["lower"])), cy, ax.px(float(r["upper"])), cy)
        if r.get("rate") is not None:
            colour, shape = WHO_STYLE[_who(r)]
            _marker(pdf, shape, ax.px(float(r["rate"])), cy, 0.95, colour)
        if r.get("own"):
            end = r.get("upper") if r.get("upper") is not None else r.get("rate") or xt[0]
            _text(pdf, ax.px(float(end)) + 1.5, cy + TICK * 0.35, own_label, FONT + 0.5, "B")
    _reset(pdf)
    height = rates_height(rows, w)
    _legend(pdf, x + label_w, y + height - LEGEND_H + 1.5, w - label_w, [("Areas", _who_legend(pdf))])
    _reset(pdf)
    return height
