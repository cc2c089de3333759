"""Meeting packs: freeze the pack as presented to a meeting, list the snapshots, and see what changed since."""

from datetime import date

import streamlit as st

from cspdash import auth, snapshots, ui

s = ui.store()
st.title("Meeting packs", anchor=False)
st.caption("A pack frozen for a meeting is a record: later restatements never change it. "
           "Compare it with today's figures, or with another meeting's pack.")
period = ui.require_quarter()
if period is None:
    st.stop()

st.header("Freeze the pack for a meeting", anchor=False)
user = ui.acting_user(s)
if user is not None and auth.allowed(user, "freeze"):
    with st.form("csp_freeze"):
        meeting = st.date_input("Meeting date", value=date.today(), format="DD/MM/YYYY")
        if st.form_submit_button(f"Freeze {period.label} for this meeting", type="primary"):
            with ui.guard():
                sid = snapshots.freeze(s, period, meeting, user)
                st.success(f"Frozen as snapshot {sid}: {period.label} for the meeting on {meeting:%d %b %Y}.", icon="✅")
elif user is not None:
    st.info("Only the CSP analyst (an admin) freezes packs.", icon="🔒")

listed = snapshots.list_snapshots(s)
st.header("Frozen packs", anchor=False)
if not listed:
    st.info("No pack has been frozen yet.", icon="📭")
    st.stop()
st.dataframe(listed, hide_index=True, column_order=["snapshot_id", "period", "meeting_date", "frozen_by", "frozen_at",
                                                    "green", "amber", "red", "no_data", "monitor"])
labels = {r["snapshot_id"]: f"{r['snapshot_id']}: {r['period']} for {r['meeting_date']}" for r in listed}
chosen = st.selectbox("Snapshot", list(labels), format_func=labels.get, key="csp_snapshot_pick")
others = {k: v for k, v in labels.items() if k != chosen}
against = st.selectbox("Compare with", [None, *others], key="csp_snapshot_against",
                       format_func=lambda k: "today's figures" if k is None else others[k])
with ui.guard():
    snap = snapshots.load(s, chosen)
    other = snapshots.load(s, against) if against is not None else snapshots.live_statuses(s, snap)
    changes = snapshots.diff(snap, other)
    if changes:
        st.warning(f"{len({c['indicator'] for c in changes})} indicator(s) differ.", icon="⚠️")
        st.dataframe([{k: str(v) for k, v in c.items()} for c in changes], hide_index=True)
    else:
        st.success("No differences.", icon="✅")
    ui.pack_downloads(None, snapshot=chosen, key="snapshot")
