"""Accounts: an admin adds, disables, re-enables and resets accounts while the app runs; with no accounts yet,
the first admin is created here."""

import streamlit as st

from cspdash import auth, ui, views

s = ui.store()
st.title("Accounts", anchor=False)

done = st.session_state.pop("csp_accounts_done", None)
if done:
    st.success(ui.md(done), icon="✅")

if not s.has_accounts() and not ui.may_manage_accounts(s):  # open mode is off: the first admin is made by the CLI
    ui.first_admin_instructions(s)
    st.stop()
if not s.has_accounts():
    st.info("No accounts yet, so anyone using this app can change data. Create the first admin account (the CSP "
            "analyst's): from then on every change needs a signed-in user.", icon="🔓")
    with st.form("csp_first_admin"):
        email = st.text_input("Your e-mail", key="csp_first_email", autocomplete="username")
        password = st.text_input(f"Password (at least {auth.MIN_PASSWORD_LENGTH} characters)", type="password",
                                 key="csp_first_password", autocomplete="new-password")
        again = st.text_input("Repeat the password", type="password", key="csp_first_again",
                              autocomplete="new-password")
        if st.form_submit_button("Create the admin account and sign in", type="primary"):
            if password != again:
                st.error("The two passwords differ; nothing was changed.", icon="⛔")
            else:
                with ui.guard():
                    admin = s.add_user(email, "admin", (), password, by=s.actor(email or ""))
                    ui.start_session(s, admin)
                    st.session_state["csp_accounts_done"] = f"Created {admin.email} (admin); you are signed in."
                    st.rerun()
    st.stop()

me = ui.signed_in_user(s)
if me is None or not auth.allowed(me, "manage_users"):
    st.error(f"Only an admin may manage accounts ({auth.RULES['admin_only']}); "
             + ("sign in with an admin account." if me is None else f"your account is a {me.role}."), icon="⛔")
    st.stop()

users = views.accounts_frame(s.list_users())
st.dataframe(users, hide_index=True, column_config={"E-mail": st.column_config.TextColumn(width="large")})

st.header("Add an account", anchor=False)
subgroups = views.template_subgroups(s.cat, None)
with st.form("csp_add_account", clear_on_submit=False):
    c1, c2 = st.columns(2)
    email = c1.text_input("E-mail", key="csp_new_email")
    role = c2.selectbox("Role", auth.ROLES, key="csp_new_role", index=auth.ROLES.index("chair"))
    groups = st.multiselect("Subgroups (chairs only)", list(subgroups), format_func=subgroups.get,
                            key="csp_new_subgroups")
    password = st.text_input("Password (leave empty for sign-in through the identity provider)", type="password",
                             key="csp_new_password", autocomplete="new-password")
    if st.form_submit_button("Add the account", type="primary"):
        with ui.guard():
            added = s.add_user(email, role, groups, password or None, by=me)
            st.session_state["csp_accounts_done"] = f"Added {added.email} ({added.role})."
            st.rerun()

st.header("Change an account", anchor=False)
emails = list(users["E-mail"])
target = st.selectbox("Account", emails, key="csp_manage_email")
c1, c2, c3 = st.columns(3)
if c1.button("Disable", key="csp_manage_disable", icon=":material/block:"):
    with ui.guard():
        s.disable_user(target, me)
        st.session_state["csp_accounts_done"] = f"Disabled {target}: it can no longer sign in or change anything."
        st.rerun()
if c2.button("Re-enable", key="csp_manage_enable", icon=":material/check_circle:"):
    with ui.guard():
        s.enable_user(target, me)
        st.session_state["csp_accounts_done"] = f"Re-enabled {target}."
        st.rerun()
if c3.button("Unlock", key="csp_manage_unlock", icon=":material/lock_open:",
             help="Clear failed sign-ins without changing the password."):
    with ui.guard():
        s.unlock_user(target, me)
        st.session_state["csp_accounts_done"] = f"Unlocked {target}."
        st.rerun()
with st.form("csp_reset_password"):
    new = st.text_input("New password for the account chosen above", type="password", key="csp_reset_password_text",
                        autocomplete="new-password")
    if st.form_submit_button("Reset the password", help="Sets the password and clears any lock-out; the account "
                             "is signed out of browsers that remembered the old one."):
        with ui.guard():
            s.set_password(target, new, me)
            st.session_state["csp_accounts_done"] = f"Password reset for {target}; tell them the new one in person."
            st.rerun()
