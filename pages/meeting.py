"""Meeting mode for a projector: one priority or one indicator per screen, no sidebar, moved with the arrow keys."""

import streamlit as st

from cspdash import ui, views

s = ui.store()
st.markdown(ui.MEETING_CSS, unsafe_allow_html=True)  # static CSS written in cspdash.ui; never data
period = ui.require_quarter()
if period is not None:
    ov = ui.view(views.overview, period)
    slides = views.meeting_slides(s.cat)
    slide = slides[st.session_state.get(ui.KEY_MEETING, 0) % len(slides)]
    st.caption(ui.md(f"{s.cat.marking} · {s.cat.name} · {ov.period} · data as at {ov.data_as_at}"))
    if slide.indicator is None:
        roll = next(r for r in ov.rollups if r["priority"] == slide.priority)
        ui.meeting_priority(roll, views.meeting_rows(ov.table, slide.priority))
    else:
        ui.meeting_indicator(ui.view(views.indicator_card, slide.indicator, period))
    ui.meeting_nav(views.progress_text(slide))
ui.meeting_footer(s.cat.marking)
