"""Meeting mode: one priority per screen in large, high-contrast type, with the marking and data stamp."""

import streamlit as st

from cspdash import ui, views

s = ui.store()
st.markdown(ui.MEETING_CSS, unsafe_allow_html=True)  # static CSS written in cspdash.ui; never data
st.markdown(f"# {ui.md(s.cat.marking)}")
period = ui.require_quarter()
if period is not None:
    ov = ui.view(views.overview, period)
    n = len(ov.rollups)
    index = st.session_state.get("csp_meeting", 0) % n
    roll = ov.rollups[index]
    st.title(ui.md(f"{roll['priority']}. {roll['title']}"), anchor=False)
    st.markdown(f"## {ui.md(ov.period)} · {ui.rag_badge_md(roll['overall'])} · {ui.md(roll['headline'])}")
    st.markdown(f"### Data as at {ui.md(ov.data_as_at)}")
    rows = views.meeting_rows(ov.table, roll["priority"])
    st.table(ui.style_rag(rows.drop(columns="rag"), rows["rag"]).hide(axis="index"))
    prev, where, nxt = st.columns([1, 2, 1])
    if prev.button("◀ Previous priority", width="stretch", key="csp_meeting_prev"):
        st.session_state["csp_meeting"] = index - 1
        st.rerun()
    where.markdown(f"### Priority {index + 1} of {n}")
    if nxt.button("Next priority ▶", width="stretch", key="csp_meeting_next"):
        st.session_state["csp_meeting"] = index + 1
        st.rerun()
    st.markdown(f"### {ui.md(s.cat.name)} · data as at {ui.md(ov.data_as_at)}")
st.markdown(f"# {ui.md(s.cat.marking)}")
