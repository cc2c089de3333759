"""Markdown escaping, RAG badges and colours, the app's static CSS, and drawing tables and charts."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

from cspdash import charts, views

#: Streamlit's named colours for each RAG (the theme in .streamlit/config.toml maps them to a colour-blind-safe
#: palette); always shown with the icon and the word.
RAG_THEME = {"green": "green", "amber": "orange", "red": "red", "no_data": "gray", "monitor": "blue"}

#: Every page: status badges inside headings scale with the heading. Static CSS written here; never built from data.
BASE_CSS = """<style>
h1 .stMarkdownBadge, h2 .stMarkdownBadge, h3 .stMarkdownBadge, h4 .stMarkdownBadge {
  font-size: 0.85em !important; padding: 0.1em 0.45em; font-weight: 700; }
[data-testid="stTable"] td, [data-testid="stTable"] th { font-size: 1rem; }
/* The Overview's tiles: the status badge as large as a heading's, without being one (the page's outline stays h1, h2). */
[class*="st-key-csp_tile_"] .stMarkdownBadge { font-size: 1.5rem !important; padding: 0.1em 0.45em; font-weight: 700; }
/* Streamlit fades captions to 3.8:1 on white; opaque #595959 is 7:1 (6.6:1 on the sidebar): WCAG AA asks 4.5:1. */
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { color: #595959 !important; opacity: 1 !important; }
</style>"""

#: Meeting mode for a projector: no sidebar or header, large high-contrast type, one screen that fits 1280x720, and
#: each status block (a container keyed ``csp_meeting_rag_<rag>``) on its RAG colour with the text colour that reads
#: on it. Text colour is inherited, never set on p, so a table cell keeps the colour style_rag gives it. Static CSS
#: written here from cspdash.views' palette; never built from data.
MEETING_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stHeader"], [data-testid="stToolbar"] { display: none !important; }
[data-testid="stMain"] { background: #ffffff; color: #000000; }
[data-testid="stMainBlockContainer"] { padding: 0.6rem 2rem 0.4rem 2rem !important; max-width: 100% !important; }
[data-testid="stMain"] [data-testid="stVerticalBlock"] { gap: 0.45rem; }
[data-testid="stMain"] p, [data-testid="stMain"] li { font-size: clamp(1.3rem, 2.3vh, 1.9rem); line-height: 1.3; }
[data-testid="stMain"] h1 { font-size: clamp(2.2rem, 3.9vh, 3.2rem); color: #000000; padding: 0.1rem 0 0.4rem 0; }
[data-testid="stMain"] h2 { font-size: clamp(1.7rem, 3vh, 2.5rem); color: #000000; padding: 0.1rem 0; }
[data-testid="stMain"] h3 { font-size: clamp(1.4rem, 2.5vh, 2rem); color: #000000; padding: 0.1rem 0; }
[data-testid="stMain"] [data-testid="stCaptionContainer"] { font-size: clamp(1.05rem, 1.9vh, 1.4rem); color: #333333; }
[data-testid="stMain"] [data-testid="stText"] { font-size: clamp(1.2rem, 2.1vh, 1.6rem); color: #000000; white-space: pre-wrap; }
[data-testid="stTable"] table { border-collapse: collapse; }
[data-testid="stTable"] th { font-size: 1.05rem; color: #000000; border: 2px solid #000000; padding: 0.1rem 0.6rem; }
[data-testid="stTable"] td { padding: 0.1rem 0.6rem; border: 2px solid #000000; }
[data-testid="stTable"] td p { font-size: clamp(1.1rem, 2vh, 1.5rem); line-height: 1.25; }
[data-testid="stTable"] td [data-testid="stMarkdownContainer"] { max-width: none; }  /* a title on one line */
[data-testid="stMain"] button p { font-size: 1.3rem; font-weight: 700; }
.st-key-csp_meeting_pgup, .st-key-csp_meeting_pgdn { display: none !important; }
""" + "".join(
    f".st-key-csp_meeting_rag_{rag} {{ background: {colour}; border-radius: 0.4rem; padding: 0.5rem 1rem; }}\n"
    f".st-key-csp_meeting_rag_{rag} p {{ color: {views.RAG_TEXT[rag]} !important; }}\n"
    for rag, colour in views.RAG_COLOUR.items()) + "</style>"



def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|$<>~:&@/=])")
#: Where GitHub-flavoured Markdown starts a link of its own in plain text: ``www.``, ``http://`` and an e-mail's
#: ``@``. Streamlit's renderer finds them after escapes are undone (``www\.x\.com`` is still linked), so an
#: invisible word joiner (U+2060) is put there instead: the text reads the same and is no link.
_AUTOLINK_AT = re.compile(r"(?i)(?<=www)(?=\.)|(?=@)|(?<=:)(?=//)")
WORD_JOINER = "\u2060"


def md(text: object) -> str:
    """Text made safe to embed in Markdown: every Markdown, HTML and Streamlit directive character escaped, and no
    link made of a file name, address or e-mail in it (``www.example.com report.csv`` stays text)."""
    return _MD_SPECIAL.sub(r"\\\1", _AUTOLINK_AT.sub(WORD_JOINER, str(text)))


def rag_badge_md(rag: str, label: str | None = None) -> str:
    """Markdown for a RAG badge: icon and word on the colour-blind-safe colour."""
    return f":{RAG_THEME.get(rag, 'gray')}-badge[{md(label or views.rag_label(rag))}]"


def style_rag(df: pd.DataFrame, rag: pd.Series, columns: tuple[str, ...] = ("Status",)) -> Any:
    """A Styler colouring ``columns`` by ``rag`` (aligned with ``df``'s rows); the text keeps its icon and word."""
    rag = rag.reset_index(drop=True)
    data = df.reset_index(drop=True)

    def colour(col: pd.Series) -> list[str]:
        if col.name not in columns:
            return [""] * len(col)
        return [f"background-color: {views.RAG_COLOUR.get(r, '#ffffff')}; color: {views.RAG_TEXT.get(r, '#000')}; "
                "font-weight: bold; white-space: nowrap" for r in rag]

    return data.style.apply(colour, axis=0)


def status_table(frame: pd.DataFrame, columns: tuple[str, ...] = ("Indicator", "Value", "Status", "Change",
                                                                  "Variation", "Assurance")) -> None:
    """The status of indicators as a static table that wraps long titles, the Status column coloured and worded."""
    st.table(style_rag(frame[list(columns)], frame["rag"]).hide(axis="index"))


def chart(c: Any) -> None:
    """An Altair chart at full width with its own (high-contrast) styling rather than Streamlit's theme."""
    st.altair_chart(c, width="stretch", theme=None)


@st.cache_data(show_spinner=False, max_entries=256)
def _chart_spec(name: str, frame: pd.DataFrame, **kwargs: Any) -> dict:
    """``charts.<name>(frame, **kwargs)`` as its Vega-Lite spec (Altair's public ``to_dict``, the data inline)."""
    return getattr(charts, name)(frame, **kwargs).to_dict()


def cached_chart(name: str, frame: pd.DataFrame, **kwargs: Any) -> None:
    """``chart(charts.<name>(frame, **kwargs))``, its Vega-Lite spec cached by the table's content.

    Building an Altair chart and validating it against the Vega-Lite schema took ~50 ms a chart, most of a priority
    page's render once its data was cached; the cached spec is drawn as ``chart`` draws it (full width, the chart's
    own styling). Every chart of cspdash.charts sets its width and height, so Altair's default view size, which
    ``to_dict`` adds to the config, changes nothing on screen.
    """
    st.vega_lite_chart(spec=_chart_spec(name, frame, **kwargs), width="stretch", theme=None)
