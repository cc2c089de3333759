"""The cspdash app: page config, the shared sidebar (partnership, quarter picker, data stamp) and navigation.

Run with ``streamlit run dashboard.py``; the database and catalogue come from ``CSPDASH_DB`` and ``CSPDASH_CONFIG``.
"""

import streamlit as st

from cspdash import ui
from cspdash.errors import CspdashError

st.set_page_config(page_title="CSP performance dashboard", page_icon="📊", layout="wide")
st.markdown(ui.BASE_CSS, unsafe_allow_html=True)  # static CSS written in cspdash.ui; never data

with ui.app_run():  # pages run inside this run; a page run alone by Streamlit reruns through it (ui._within_app)
    try:
        store = ui.store()
    except CspdashError as e:
        ui.show_error(e)
        st.stop()

    gate = ui.access(store)  # what this session may see (cspdash.auth.ACCESS): nothing before sign-in unless public
    readable = gate in ui.READERS
    with st.sidebar:
        st.markdown(f"### {ui.md(store.cat.name)}")
        if readable:
            with ui.guard():
                ui.quarter_picker(store)
            ui.data_stamp(store)
        st.caption(ui.md(store.cat.marking))
        with ui.guard():
            ui.account_panel(store)

    status_pages = [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/priority_a.py", title=ui.priority_title(store, "A"), icon=":material/flag:"),
        st.Page("pages/priority_b.py", title=ui.priority_title(store, "B"), icon=":material/flag:"),
        st.Page("pages/priority_c.py", title=ui.priority_title(store, "C"), icon=":material/flag:"),
        st.Page("pages/priority_d.py", title=ui.priority_title(store, "D"), icon=":material/flag:"),
        st.Page("pages/indicator.py", title="Indicator detail", icon=":material/query_stats:"),
        st.Page("pages/meeting.py", title="Meeting mode", icon=":material/co_present:"),
    ]
    pages = {"Status": status_pages}
    if gate != "public":  # packs carry commentary with its authors; returns name uploaders and hold their files
        status_pages.append(st.Page("pages/packs.py", title="Meeting packs", icon=":material/picture_as_pdf:"))
        pages["Returns"] = [
            st.Page("pages/upload.py", title="Upload", icon=":material/upload_file:"),
            st.Page("pages/submissions.py", title="Submissions tracker", icon=":material/checklist:"),
            st.Page("pages/history.py", title="Upload history", icon=":material/history:"),
            *ui.admin_pages(store),
        ]
    page = st.navigation(pages, position="sidebar" if readable else "hidden")
    with ui.guard():
        if gate == "setup":
            ui.first_admin_instructions(store)
        elif gate == "closed":
            ui.sign_in_required(store)
            ui.sign_in_form(store)
        else:
            ui.sign_in_form(store)
            page.run()
