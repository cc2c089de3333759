"""Upload history: every upload with its state, restatements and withdrawals; withdraw one; download an original."""

import streamlit as st

from cspdash import auth, backups, ui, views

s = ui.store()
st.title("Upload history", anchor=False)
done = st.session_state.pop("csp_withdraw_done", None)
if done:
    st.success(ui.md(done), icon="✅")

uploads = ui.view(views.uploads_frame)
if uploads.empty:
    ui.empty_state()
    st.stop()
st.dataframe(views.uploads_display(uploads), hide_index=True,
             column_config={"File": st.column_config.TextColumn(width="large")})

st.header("Download an original file", anchor=False)
choices = views.upload_choices(uploads)
pick = st.selectbox("Upload", list(choices), format_func=choices.get, key="csp_history_download")
st.download_button("Download the original file", data=lambda: s.upload_content(pick)[1],
                   file_name=views.upload_file_name(uploads, pick), on_click="ignore", icon=":material/download:")

st.header("Withdraw an upload", anchor=False)
st.caption("A withdrawn upload's figures and commentary stop counting; nothing is deleted and the history keeps it.")
user = ui.acting_user(s)
active = views.withdrawable(s, uploads, user) if user else {}
if user is None:
    pass  # acting_user said how to sign in (or asked for an e-mail in open mode)
elif not active:
    st.info("No active uploads that you may withdraw.")
else:
    target = st.selectbox("Upload to withdraw", list(active), format_func=active.get, key="csp_withdraw_pick")
    reason = st.text_input("Reason", key="csp_withdraw_reason",
                           placeholder="e.g. wrong quarter; replaced by a corrected return")
    round_ = st.session_state.setdefault("csp_withdraw_round", 0)  # a new key clears the confirmation after use
    sure = st.checkbox(f"Yes, withdraw upload {target}: its figures will stop counting.",
                       key=f"csp_withdraw_sure_{target}_{round_}")
    ready = bool(user and reason.strip() and sure)
    if st.button("Withdraw upload", type="primary", disabled=not ready, key="csp_withdraw",
                 help=None if ready else "Give your e-mail and a reason, and tick the confirmation"):
        h = s.withdraw(target, user, reason.strip())
        st.session_state["csp_withdraw_done"] = (f"Upload {h['upload_id']} ({h['file_name']}) withdrawn; "
                                                 "its figures no longer count.")
        st.session_state["csp_withdraw_round"] = round_ + 1
        st.rerun()

st.header("Back up the database", anchor=False)
if user is not None and auth.allowed(user, "backup"):
    st.caption("A consistent copy of everything: figures, original files, commentary, accounts and frozen packs, "
               "made while the app runs. Keep it off this machine. To put it back, stop the app and run "
               "`python -m cspdash restore FILE`.")
    st.download_button("Download a backup", data=lambda: backups.backup_bytes(s), file_name=backups.download_name(),
                       mime="application/octet-stream", on_click="ignore", icon=":material/download:", key="csp_backup")
else:
    st.caption("Only the CSP analyst (an admin) can download a backup: it holds every account.")
