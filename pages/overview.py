"""Overview: the four priorities at a glance, the exceptions to discuss, every priority's indicators, missing
returns, the CSV download and the meeting pack."""

import streamlit as st

from cspdash import ui, views

s = ui.store()
st.title("Overview", anchor=False)
period = ui.require_quarter()
if period is not None:
    ov = ui.view(views.overview, period)
    st.caption(ui.md(f"{ov.period} · data as at {ov.data_as_at} · {s.cat.marking}"))
    ui.priority_tiles(views.priority_tiles(ov.rollups))
    st.header(ui.md(ov.headline), anchor=False)
    for col, rag in zip(st.columns(len(ov.counts)), ov.counts, strict=True):
        col.metric(views.rag_label(rag), ov.counts[rag], border=True)
    if views.amber_summary(ov.ambers):
        st.caption(ui.md(views.amber_summary(ov.ambers)) + ": *within tolerance* is short of the target by less "
                   "than the tolerance; *could be chance* met or missed it on its face, but the figure's 95% range "
                   "includes the target; *too small to tell* rests on too few cases.")

    st.subheader("To discuss", anchor=False)
    st.caption("Every red status, every statistical concern (an unusual change for the worse, or a target we will "
               "not meet without a change) and every missing return.")
    ui.exception_list(views.exception_frame(ov.table))

    if len(ov.missing):
        st.warning(f"Missing for {ov.period}: {len(ov.missing)} indicator(s) have no figure. "
                   "The owner subgroups are listed below.", icon="⛔")
        st.dataframe(ov.missing, hide_index=True)
    else:
        st.success(f"Every indicator has a figure for {ov.period}.", icon="✅")

    table = views.plain_table(ov.table)
    ui.spc_help()
    for roll in ov.rollups:
        part = table[table["priority"] == roll["priority"]]
        ui.priority_heading(roll)
        ui.status_table(part, ("Indicator", "Value", "95% range", "Status", "Change",
                                *views.PLAIN_COLUMNS.values()))
        with ui.on_demand(f"Why these statuses (priority {roll['priority']})", f"csp_why_{roll['priority']}") as shown:
            if shown:
                ui.reasons(part)

    # The file is made when the button is pressed (a callable), not on every run of the page.
    st.download_button("Download the status table (CSV)", data=lambda: views.status_csv(ov.table),
                       file_name=f"csp-status-{ov.period.replace('/', '-').replace(' ', '-')}.csv", mime="text/csv",
                       icon=":material/download:", on_click="ignore")

    st.subheader("Meeting pack", anchor=False)
    ui.pack_downloads(period)
