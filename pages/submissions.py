"""Submissions tracker: for the chosen quarter, which indicators have a figure, which are missing, and who sent it."""

import streamlit as st

from cspdash import ui, views

st.title("Submissions tracker", anchor=False)
period = ui.require_quarter()
if period is not None:
    frame = ui.view(views.submissions_frame, period)
    st.header(views.submissions_headline(frame), anchor=False)
    late = views.submissions_late(frame, period)
    if late:
        st.warning(ui.md(late), icon="⛔")
    else:
        st.success(f"Every indicator has a complete figure for {period.label}.", icon="✅")
    table, rag = views.submissions_display(frame)
    st.dataframe(ui.style_rag(table, rag, ("Submission",)), hide_index=True)
