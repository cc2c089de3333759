"""Upload: return templates, a dry run of uploaded returns or extracts (problems or preview), confirm and store,
and the chair's commentary form."""

from datetime import date
from functools import partial

import streamlit as st

from cspdash import ui, views
from cspdash.errors import CspdashError
from cspdash.ingest import SourceFile

s = ui.store()
st.title("Upload", anchor=False)
user = ui.acting_user(s)
if user is None and not s.has_accounts():
    st.caption("Type your e-mail before storing anything: it is recorded with every upload.")

done = st.session_state.pop("csp_upload_done", None)
if done:
    st.success(ui.md(" ".join(done)), icon="✅")

st.header("1. Get a template", anchor=False)
subgroups = views.template_subgroups(s.cat, user)  # a chair's own subgroups first and only
c1, c2 = st.columns(2)
subgroup = c1.selectbox("Subgroup", list(subgroups), format_func=subgroups.get, key="csp_template_subgroup")
fills = ui.view(views.template_quarters, date.today())
owed = ui.view(views.template_quarter_default, subgroup, date.today())
fill = c2.selectbox("Quarter to pre-fill", fills, index=fills.index(owed),
                    key=f"csp_template_quarter_{subgroup}",  # per subgroup: each starts on the quarter it owes
                    help="Starts on the latest ended quarter your subgroup has not yet returned in full.")
d1, d2 = st.columns(2)
for col, ext, mime in ((d1, "csv", "text/csv"),
                       (d2, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")):
    col.download_button(f"Download the {ext.upper()} template",
                        data=partial(views.template_bytes, s.cat, subgroup, ext, fill),
                        file_name=views.template_name(subgroup, fill, ext), mime=mime, on_click="ignore",
                        icon=":material/download:", key=f"csp_template_{ext}")

if s.has_accounts() and not (user and user.can_write):
    if user is not None:
        st.info(f"Your account ({user.role}) can see the figures but not change them.", icon="🔒")
    st.stop()

st.header("2. Upload and check", anchor=False)
kinds = views.upload_kinds(s.cat)
kind = st.selectbox("What is this file?", list(kinds), format_func=kinds.get, key="csp_upload_kind")
dataset = None if kind == views.RETURN_KIND else kind
synthetic = views.can_mark_synthetic(user) and st.checkbox(
    "Synthetic: these files hold invented figures (demonstration or training data)", key="csp_upload_synthetic",
    help="Every figure from these files is labelled synthetic on screen and in the pack.")
round_ = st.session_state.setdefault("csp_upload_round", 0)  # a new key empties the uploader after storing
files = st.file_uploader("Returns or extracts", type=views.upload_types(kind), accept_multiple_files=True,
                         key=f"csp_files_{round_}",
                         help="Nothing is stored until you confirm: the files are checked first.")
if files:
    sources = [SourceFile(f.name, data=f.getvalue()) for f in files]
    check = (kind, synthetic, s.data_version(), tuple(src.sha256() for src in sources))
    if st.session_state.get("csp_check", (None,))[0] != check:
        with st.spinner("Checking the files..."):
            try:
                outcome = s.import_files(sources, user or "(not yet named)", dataset, dry_run=True, synthetic=synthetic)
            except CspdashError as e:  # problems or a refusal: shown here, and the rest of the page stays
                outcome = views.check_summary(e)  # kept across reruns: the words, not the file's cells
        st.session_state["csp_check"] = (check, outcome)
    outcome = st.session_state["csp_check"][1]
    if isinstance(outcome, CspdashError):
        ui.show_error(outcome)
    else:
        st.success("Checked: no problems found. Nothing is stored until you confirm.", icon="✅")
        for line in views.uploads_summary(outcome):
            st.text(line)
        for warning in outcome.warnings:  # e.g. a neighbouring force's police.uk file: worth a look before storing
            st.warning(ui.md(warning), icon="⚠️")
        preview = views.preview_frame(outcome, s.cat)
        if len(preview) > 30:
            st.dataframe(preview, hide_index=True, column_config={
                "Indicator": st.column_config.TextColumn(width="large")})
        elif len(preview):
            st.table(preview.style.hide(axis="index"))
        new = [u for u in outcome.uploads if not u.get("duplicate_of")]
        if st.button("Confirm and store", type="primary", disabled=not (user and new), key="csp_confirm",
                     help=None if user else "Type your e-mail first"):
            with ui.guard():
                with st.status("Storing...", expanded=False) as progress:
                    result = s.import_files(sources, user, dataset, dry_run=False, synthetic=synthetic)
                    progress.update(label="Stored", state="complete")
                st.session_state["csp_upload_done"] = views.uploads_summary(result)
                st.session_state["csp_upload_round"] = round_ + 1
                st.session_state.pop("csp_check", None)
                st.rerun()

st.header("3. Chair's commentary", anchor=False)
quarters = [o.label for o in ui.view(views.quarter_options)] or views.template_quarters(s, date.today())
chosen = ui.selected_quarter()
saved = st.session_state.pop("csp_commentary_done", None)
if saved:
    st.success(ui.md(saved), icon="✅")
text_round = st.session_state.setdefault("csp_commentary_round", 0)  # a new key empties the text once saved
with st.form("csp_commentary"):  # not cleared on submit: a refused or failed save keeps what was typed
    indicator = st.selectbox("Indicator", views.commentary_choices(s.cat, user),
                             format_func=lambda i: views.indicator_label(s.cat, i), key="csp_commentary_indicator")
    label = st.selectbox("Quarter", quarters,
                         index=quarters.index(chosen.label) if chosen and chosen.label in quarters else 0)
    text = st.text_area("Commentary", max_chars=4000, help="Plain text; shown to the partnership as written.",
                        key=f"csp_commentary_text_{text_round}")
    if st.form_submit_button("Save commentary"):
        if not user:
            st.error("Type your e-mail above first: it is recorded with the commentary.", icon="⛔")
        else:
            with ui.guard():
                uid = s.add_commentary(indicator, views.quarter(label), text, user)
                st.session_state["csp_commentary_done"] = f"Commentary on {indicator} for {label} saved as upload {uid}."
                st.session_state["csp_commentary_round"] = text_round + 1
                st.rerun()
