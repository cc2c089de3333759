"""The renderers used by more than one screen: meeting packs, indicator cards, priority pages, the
Overview's tiles and meeting mode.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cspdash import compare, status, views
from cspdash.errors import CspdashError
from cspdash.periods import Period
from cspdash.store import Store
from cspdash.ui.app import require_quarter, store, view
from cspdash.ui.session import anonymous
from cspdash.ui.style import cached_chart, md, rag_badge_md, style_rag

# --- meeting packs ----------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=16)
def _pack_bytes(db: str, version: int, period: str | None, meeting: str | None, snapshot: int | None, kind: str,
                _store: Store) -> tuple[str, bytes]:
    from cspdash import report, snapshots

    source = snapshots.load(_store, snapshot) if snapshot is not None else period
    pack = report.resolve(_store, source, meeting)
    data = report.render_pdf(pack) if kind == "pdf" else report.render_xlsx(pack)
    return report.file_name(pack, kind), data


def pack_file(kind: str, period: Period | None = None, meeting: str | None = None,
              snapshot: int | None = None) -> tuple[str, bytes]:
    """(file name, bytes) of the meeting pack (``pdf``) or scorecard (``xlsx``), cached until the next commit."""
    s = store()
    return _pack_bytes(str(s.path), s.data_version(), period.label if period else None, meeting, snapshot, kind,
                       _store=s)


def pack_downloads(period: Period | None, meeting: str | None = None, snapshot: int | None = None,
                   key: str = "pack") -> None:
    """A "Prepare" button, then download buttons for the PDF pack and the Excel scorecard."""
    if anonymous(store()):
        st.caption("Sign in to download the meeting pack: it carries the chairs' commentary and its authors.")
        return
    ready_key = f"csp_{key}_ready"
    if st.button("Prepare the meeting pack (PDF) and scorecard (Excel)", key=f"csp_{key}_prepare",
                 icon=":material/description:"):
        st.session_state[ready_key] = (period.label if period else None, meeting, snapshot)
    if st.session_state.get(ready_key) != (period.label if period else None, meeting, snapshot):
        st.caption("The pack takes a few seconds to draw.")
        return
    with st.spinner("Drawing the pack..."):
        pdf_name, pdf = pack_file("pdf", period, meeting, snapshot)
        xlsx_name, xlsx = pack_file("xlsx", period, meeting, snapshot)
    c1, c2 = st.columns(2)
    c1.download_button("Download the meeting pack (PDF)", data=pdf, file_name=pdf_name, mime="application/pdf",
                       icon=":material/download:", on_click="ignore", key=f"csp_{key}_pdf")
    c2.download_button("Download the scorecard (Excel)", data=xlsx, file_name=xlsx_name,
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       icon=":material/download:", on_click="ignore", key=f"csp_{key}_xlsx")



# --- indicators and priorities ---------------------------------------------------------------

def reasons(frame: pd.DataFrame) -> None:
    """Each indicator's status with its one-sentence reason, as plain text."""
    for _, r in frame.iterrows():
        st.markdown(f"**{md(r['indicator'])}** {rag_badge_md(r['rag'])}")
        st.text(r["reason"])


def priority_heading(rollup: dict) -> None:
    """A priority's title with its roll-up status in words."""
    st.subheader(f"{md(rollup['priority'])}. {md(rollup['title'])}", anchor=False)
    st.markdown(f"Priority status: {rag_badge_md(rollup['overall'])} &nbsp; {md(rollup['headline'])}",
                help=rollup["reason"])


def indicator_card(card: views.IndicatorCard, period: Period, own_area: str) -> None:
    """One indicator on a priority page: status, chart with table view, texts, commentary, area comparison."""
    s = card.status
    with st.container(border=True):
        st.subheader(f"{md(card.id)} {md(card.title)}", anchor=False)
        c1, c2, c3 = st.columns([1.2, 1, 2])
        c1.markdown(f"#### {rag_badge_md(s['rag'])}")
        if s["amber_reason"]:
            c1.caption(md(status.AMBER_WORDS[s["amber_reason"]].capitalize()))
        c2.metric("Value", card.value_text, help=f"Rated period: {s['rated_period']}"
                  + (". Provisional: it includes recent police months, which are often revised." if s["provisional"]
                     else ""))
        if card.range_text:
            c2.caption(md(card.range_text))
        c3.markdown(f"**Change:** {md(card.change)}  \n**Target:** {md(s['target_text'])}")
        st.text(s["reason"])
        st.caption(md(f"SPC variation: {card.variation}. Assurance: {card.assurance}. Owner: {card.owner}."))
        if len(card.history):
            cached_chart("history_chart", card.history, y_title=views.unit_title(card.unit))
            with st.expander("Table view"):
                st.dataframe(card.table, hide_index=True)
        else:
            st.info("No complete figures to chart yet.", icon="📭")
        d1, d2 = st.columns(2)
        with d1:
            st.markdown("**Definition**")
            st.text(card.definition or "-")
            if card.source:
                st.caption(md(f"Source: {card.source}"))
            figure_provenance(card)
        with d2:
            st.markdown("**Why it matters**")
            st.text(card.rationale or "-")
        st.markdown(f"**Chair's commentary, {md(s['rated_period'])}**")
        if card.commentary:
            for c in card.commentary:
                st.text(c["text"])  # untrusted: plain text, never Markdown or HTML
                st.text(byline(c))
        else:
            st.caption("No commentary for this period.")
        if card.comparison is not None:
            c = card.comparison
            with st.expander(f"Compare with the other London boroughs ({len(c.rows)} areas, rates per resident)"):
                st.text(compare.sentence(c))
                if card.comparison_note:
                    st.caption(md(card.comparison_note))
                y_title = f"Rate {compare.per_text(c.per)}"
                st.markdown("**Funnel plot**: rate against residents, with the 95% and 99.8% limits around London")
                cached_chart("funnel_chart", card.funnel, own_area=own_area, y_title=y_title)
                st.dataframe(views.funnel_table(card.funnel), hide_index=True)
                st.markdown("**Ranked rates** with their 95% intervals")
                cached_chart("rate_chart", card.areas, own_area=own_area, x_title=y_title)
                st.dataframe(views.rate_table(card.areas, c.per), hide_index=True)
        elif card.areas is not None:
            with st.expander(f"Compare with the other London boroughs ({len(card.areas)} areas)"):
                st.text(views.area_summary(card.areas, own_area))
                if card.comparison_note:
                    st.caption(md(card.comparison_note))
                cached_chart("area_chart", card.areas, own_area=own_area, x_title=views.unit_title(card.unit))
                st.dataframe(views.area_table(card.areas), hide_index=True)


def figure_provenance(card: views.IndicatorCard) -> None:
    """Whether the figure is synthetic or provisional, and where the target's level came from and who agreed it
    (``not recorded`` when the catalogue does not say)."""
    if card.synthetic:
        st.caption(md(f"Synthetic: the {card.status['rated_period']} figure came from an upload marked synthetic "
                      "(invented demonstration figures, not real data)."))
    if card.provisional_note:
        st.caption(md(card.provisional_note))
    st.caption(md(f"Target source: {card.target_source}. Target agreed: {card.target_agreed}."))


def byline(comment: dict) -> str:
    """``— author, when`` under a comment; only ``— when`` for an anonymous visitor of a public dashboard."""
    at = views.when(comment["uploaded_at"])
    return f"— {at}" if anonymous(store()) else f"— {comment['user']}, {at}"


def people(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` as this session may see it: without uploaders and their files for an anonymous visitor."""
    return views.without_people(df) if anonymous(store()) else df


def priority_page(priority: str) -> None:
    """The page of one priority: its roll-up, then every indicator's card."""
    s = store()
    if not any(p.id == priority for p in s.cat.priorities):
        raise CspdashError(f"the catalogue has no priority {priority!r}; "
                           f"it declares {', '.join(p.id for p in s.cat.priorities)}")
    p = s.cat.priority(priority)
    st.title(md(f"Priority {p.id}: {p.title}"), anchor=False)
    st.text(p.description)
    period = require_quarter()
    if period is None:
        return
    ov = view(views.overview, period)
    roll = next(r for r in ov.rollups if r["priority"] == priority)
    # The roll-up is the h2 between the page's h1 and the cards' h3: headings never skip a level.
    st.header(f"{md(period.label)} · priority status {rag_badge_md(roll['overall'])} · {md(roll['headline'])}",
              help=roll["reason"], anchor=False)
    for card in view(views.priority_cards, priority, period):
        indicator_card(card, period, s.cat.area)


def priority_title(s: Store, priority: str) -> str:
    """``A. Anti-social behaviour including drugs and alcohol`` (or ``Priority X`` if the catalogue lacks it)."""
    p = next((p for p in s.cat.priorities if p.id == priority), None)
    return f"{priority}. {p.title}" if p else f"Priority {priority}"


def data_stamp(s: Store) -> None:
    """The ``Data as at`` caption."""
    at = view(views.data_as_at)
    st.caption(md(f"Data as at {at}") if at else "No data uploaded yet")


# --- overview at a glance and meeting mode ----------------------------------------------------------

KEY_MEETING = "csp_meeting"  # the index of meeting mode's screen in views.meeting_slides


def priority_tiles(tiles: list[views.PriorityTile]) -> None:
    """The four priorities side by side: status (icon, word, colour), title, one-line reason and a link to its page."""
    for col, t in zip(st.columns(len(tiles)), tiles, strict=True):
        with col.container(border=True, height="stretch", key=f"csp_tile_{t.priority}"):
            st.markdown(rag_badge_md(t.rag, f"{t.icon} {t.word}"))  # first, so the four line up; sized by BASE_CSS
            st.markdown(f"**{md(t.priority)}. {md(t.title)}**")
            st.caption(md(t.reason))
            st.page_link(t.page, label=f"Open priority {t.priority}", icon=":material/arrow_forward:")


def exception_list(exceptions: pd.DataFrame) -> None:
    """The exceptions (every red, SPC concern and missing return) as a table, the Status column coloured."""
    st.markdown(f"**{md(views.exception_summary(exceptions))}**")
    if len(exceptions):
        st.table(style_rag(exceptions.drop(columns="rag"), exceptions["rag"]).hide(axis="index"))


def spc_help() -> None:
    """What the Variation and "Will we meet the target?" columns mean, in an expander."""
    with st.expander("What do “Variation” and “Will we meet the target?” mean?"):
        st.markdown(views.SPC_HELP)


def meeting_move(step: int) -> None:
    """Move meeting mode ``step`` screens on (a button's callback; the page wraps the index round)."""
    st.session_state[KEY_MEETING] = st.session_state.get(KEY_MEETING, 0) + step


def meeting_nav(progress: str) -> None:
    """Previous / progress / Next, with ← → and Page Up / Page Down as keyboard shortcuts.

    Streamlit's public ``st.button(shortcut=...)`` binds one key to a button, so the arrows are on the visible
    buttons and Page Up / Page Down on a second, hidden pair (hidden by MEETING_CSS): no script of our own runs.
    """
    prev, where, nxt = st.columns([1, 2, 1], vertical_alignment="center")
    prev.button("◀ Previous", width="stretch", key="csp_meeting_prev", shortcut="Left",
                on_click=meeting_move, args=(-1,))
    where.markdown(f"**{md(progress)}**", text_alignment="center")  # not a heading: the outline stays h1, h2
    nxt.button("Next ▶", width="stretch", key="csp_meeting_next", shortcut="Right",
               on_click=meeting_move, args=(1,))
    st.button("Previous (Page Up)", key="csp_meeting_pgup", shortcut="PageUp", on_click=meeting_move, args=(-1,))
    st.button("Next (Page Down)", key="csp_meeting_pgdn", shortcut="PageDown", on_click=meeting_move, args=(1,))


def meeting_footer(marking: str) -> None:
    """The marking, the keys that move between screens, and the way back to the Overview (the sidebar is hidden)."""
    hint, leave = st.columns([3, 1], vertical_alignment="center")
    hint.caption(md(f"{marking} · ← → or Page Up / Page Down move between screens"))
    with leave:
        st.page_link("pages/overview.py", label="Leave meeting mode", icon=":material/close:")


def meeting_status(rag: str, label: str, reason: str) -> None:
    """A status block on its RAG colour (MEETING_CSS): the icon and word, then the reason."""
    with st.container(key=f"csp_meeting_rag_{rag}"):
        st.markdown(f"**{md(label)}** · {md(reason)}")


def meeting_priority(roll: dict, rows: pd.DataFrame) -> None:
    """Meeting mode's summary screen of a priority: overall status with its reason, then each indicator's status."""
    st.title(md(f"{roll['priority']}. {roll['title']}"), anchor=False)
    meeting_status(roll["overall"], views.rag_label(roll["overall"]), roll["reason"])
    st.table(style_rag(rows.drop(columns=["rag", "Change"]), rows["rag"]).hide(axis="index"))


def meeting_indicator(card: views.IndicatorCard) -> None:
    """Meeting mode's screen of one indicator: value, target, status with reason, SPC chart and the chair's words."""
    s = card.status
    st.title(md(f"{card.id} {card.title}"), anchor=False)
    left, right = st.columns([2, 3], gap="medium")
    with left:
        meeting_status(s["rag"], card.label, s["reason"])
        st.markdown(f"## {md(card.value_text)}", help=f"Rated period: {s['rated_period']}")
        st.markdown(f"**Target:** {md(s['target_text'] or views.NONE)}  \n**Change:** {md(card.change)}")
        st.markdown(f"**Chair's commentary, {md(s['rated_period'])}**")
        with st.container(height=170, border=False, key="csp_meeting_commentary"):
            if card.commentary:
                for c in card.commentary:
                    st.text(c["text"])  # untrusted: plain text, never Markdown or HTML
                    st.caption(md(byline(c)))
            else:
                st.caption("No commentary for this period.")
    with right:
        if len(card.history):
            cached_chart("history_chart", card.history, y_title=views.unit_title(card.unit), height=380)
        else:
            st.info("No complete figures to chart yet.", icon="📭")
