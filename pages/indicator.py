"""Indicator detail: full history with restatements, where the shown figure came from, SPC detail, downloads."""

import streamlit as st

from cspdash import ui, views

s = ui.store()
st.title("Indicator detail", anchor=False)
ids = [i.id for i in s.cat.indicators]
if st.query_params.get("id") in ids and "csp_indicator" not in st.session_state:
    st.session_state["csp_indicator"] = st.query_params["id"]
indicator = st.selectbox("Indicator", ids, key="csp_indicator",
                         format_func=lambda i: views.indicator_label(s.cat, i))
period = ui.require_quarter()
if period is not None:
    card = ui.view(views.indicator_card, indicator, period)
    status = card.status
    st.markdown(f"**{ui.md(status['period'])}** {ui.rag_badge_md(status['rag'])} · value {ui.md(card.value_text)}"
                f" · {ui.md(card.change)}")
    if card.range_text:
        st.caption(ui.md(card.range_text))
    st.text(status["reason"])
    st.caption(ui.md(f"Target: {status['target_text']}."))
    ui.figure_provenance(card)

    st.header("History", anchor=False)
    if len(card.history):
        # Its Vega-Lite spec cached: building and validating the Altair chart took most of the page's run (0.3 s).
        ui.cached_chart("history_chart", card.history, y_title=views.unit_title(card.unit))
    with ui.on_demand("Table view", "csp_indicator_table") as shown:
        if shown:
            st.dataframe(card.table, hide_index=True)

    st.header(f"Where the {status['rated_period']} figure came from", anchor=False)
    prov = ui.view(views.provenance_frame, indicator, period)
    if len(prov):
        st.dataframe(ui.people(prov), hide_index=True)
    else:
        st.caption("No stored figure behind this period.")

    st.header("Statistical process control", anchor=False)
    st.caption(ui.md(f"Variation: {card.variation}. Assurance: {card.assurance}."))
    points, notes = ui.view(views.spc_detail, indicator, period)
    for note in notes:
        st.text(f"• {note}")
    with ui.on_demand("SPC points (table)", "csp_indicator_spc") as shown:  # below the first screen: drawn when opened
        if shown:
            st.dataframe(points, hide_index=True)

st.header("Every stored figure", anchor=False)
st.caption("Current figures count now; superseded ones were restated by a later upload; withdrawn ones no longer count.")
series = ui.view(views.series_frame, indicator)
st.dataframe(ui.people(views.series_display(series)), hide_index=True)
series = ui.people(series)  # the downloads too
name = f"csp-{indicator}-series"
c1, c2 = st.columns(2)
# The files are made when a button is pressed (a callable), not on every run: the XLSX took most of the page's run.
c1.download_button("Download the series (CSV)", data=lambda: views.csv_bytes(series), file_name=f"{name}.csv",
                   mime="text/csv", icon=":material/download:", on_click="ignore")
c2.download_button("Download the series (XLSX)", data=lambda: views.xlsx_bytes(series, indicator),
                   file_name=f"{name}.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   icon=":material/download:", on_click="ignore")
