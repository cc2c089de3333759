"""Accounts: users, their roles and subgroups, sign-in with lock-out counters, and who may manage accounts.

Written against ``db.Engine``: the same code runs on DuckDB and on PostgreSQL (``cspdash.pg``), where the sign-in
counter is as atomic across processes as it is across threads here (one ``UPDATE ... RETURNING``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cspdash import auth, db
from cspdash.auth import PermissionDenied, User
from cspdash.config import Catalogue
from cspdash.errors import CspdashError

_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$Vm9pZFZvaWRWb2lkVm9pZFZvaWRWb2lkVm9pZFZvaWQ"


class Accounts:
    """The accounts of one database; while there are none, the database is in open mode."""

    def __init__(self, database: db.Engine, cat: Catalogue) -> None:
        self.db = database
        self.cat = cat
        self._client_attempts = auth.AttemptLimiter()  # sign-in attempts per client, over all accounts

    def has_accounts(self) -> bool:
        """Whether any account exists (until then the database is in open mode: anyone named may write)."""
        return self.db.cursor().execute("SELECT count(*) FROM users").fetchone()[0] > 0

    def actor(self, user: User | str | None) -> User:
        """The account acting: a User as given, or looked up by e-mail; open mode while there are no accounts."""
        if isinstance(user, User):
            if user.open_mode and self.has_accounts():
                raise PermissionDenied(f"{user.email} acted before accounts existed; sign in again", auth.RULES["signed_in"])
            return user
        email = auth.normalise_email(user or "")
        if not self.has_accounts():
            if not email:
                raise CspdashError("say who made it: every change records a person (an e-mail address or name)")
            return User((user or "").strip(), "admin", open_mode=True)
        if not email:
            raise PermissionDenied("accounts exist, so changes need a signed-in user: pass --user EMAIL", auth.RULES["signed_in"])
        found = self.user(email)
        if found is None:
            raise PermissionDenied(f"there is no account for {email}; ask the CSP analyst to add one "
                                   "(python -m cspdash user add EMAIL --role ROLE)", auth.RULES["signed_in"])
        return found

    def user(self, email: str) -> User | None:
        """The account with this e-mail, or None."""
        row = self.db.cursor().execute("SELECT email, role, subgroups, disabled FROM users WHERE email = ?",
                                    [auth.normalise_email(email)]).fetchone()
        return None if row is None else User(row[0], row[1], tuple(row[2]), bool(row[3]))

    def list_users(self) -> list[dict]:
        """Every account (never the password hash), with whether it is locked out now."""
        rel = self.db.cursor().execute(
            "SELECT email, role, subgroups, disabled, password_hash IS NOT NULL AS local_password, created_at, "
            "created_by, last_signin_at, failed_signins, last_failed_at FROM users ORDER BY email")
        cols = [d[0] for d in rel.description]
        now = db.now()
        rows = [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]
        for r in rows:
            r["locked"] = auth.locked(r["failed_signins"], r.pop("last_failed_at"), now)
        return [db.jsonable(r) for r in rows]

    def add_user(self, email: str, role: str, subgroups: Sequence[str] = (), password: str | None = None,
                 by: User | str = "cli") -> User:
        """Create an account; chairs must name their subgroups, others must not. ``by``: see ``_manager``."""
        who = self._manager(by, "add an account")
        if isinstance(by, User) and by.open_mode and role != "admin":
            raise PermissionDenied(f"the first account made in the app must be an admin, not a {role}: otherwise "
                                   "nobody could manage accounts", auth.RULES["admin_only"])
        email = auth.normalise_email(email)
        if not auth.valid_email(email):
            raise CspdashError(f"{email!r} is not an e-mail address")
        if role not in auth.ROLES:
            raise CspdashError(f"unknown role {role!r}; expected one of {'|'.join(auth.ROLES)}")
        known = {s.id for s in self.cat.subgroups}
        bad = [s for s in subgroups if s not in known]
        if bad:
            raise CspdashError(f"no subgroup {', '.join(bad)}; expected one of {'|'.join(sorted(known))}")
        if role == "chair" and not subgroups:
            raise CspdashError("a chair must be bound to at least one subgroup: add --subgroup ID")
        if role != "chair" and subgroups:
            raise CspdashError(f"only chairs are bound to subgroups; a {role} sees or changes everything it may")
        if self.user(email) is not None:
            raise CspdashError(f"{email} already has an account; use `user set-password` or `user disable`")
        hashed = auth.hash_password(password) if password else None
        self._write_users("INSERT INTO users VALUES (?, ?, ?, ?, false, ?, ?, 0, NULL, NULL)",
                          [email, role, list(subgroups), hashed, db.now(), who], who, "user add",
                          f"{email} as {role}{' of ' + ', '.join(subgroups) if subgroups else ''}")
        return User(email, role, tuple(subgroups))

    def disable_user(self, email: str, by: User | str = "cli") -> None:
        """Disable an account (kept for the audit trail; it can do nothing any more); never the last enabled admin."""
        who = self._manager(by, "disable an account")
        target = self._existing(email)
        if target.role == "admin" and not target.disabled and self._enabled_admins() <= 1:
            raise CspdashError(f"{target.email} is the last enabled admin: add or re-enable another admin first, "
                               "or nobody could manage accounts")
        self._write_users("UPDATE users SET disabled = true WHERE email = ?", [target.email], who, "user disable",
                          target.email)

    def enable_user(self, email: str, by: User | str = "cli") -> None:
        """Re-enable a disabled account (its password and role are as they were)."""
        who = self._manager(by, "re-enable an account")
        target = self._existing(email)
        self._write_users("UPDATE users SET disabled = false WHERE email = ?", [target.email], who, "user enable",
                          target.email)

    def set_password(self, email: str, password: str, by: User | str = "cli") -> None:
        """Set an account's password (and clear its lock-out); cookies issued under the old password stop working."""
        who = self._manager(by, "set a password")
        target = self._existing(email)
        hashed = auth.hash_password(password)
        self._write_users("UPDATE users SET password_hash = ?, failed_signins = 0, last_failed_at = NULL WHERE email = ?",
                          [hashed, target.email], who, "user set-password", target.email)

    def unlock_user(self, email: str, by: User | str = "cli") -> None:
        """Clear an account's failed sign-ins, ending a lock-out before its 15 minutes are up."""
        who = self._manager(by, "unlock an account")
        target = self._existing(email)
        self._write_users("UPDATE users SET failed_signins = 0, last_failed_at = NULL WHERE email = ?",
                          [target.email], who, "user unlock", target.email)

    def account_stamp(self, email: str) -> tuple[User, str] | None:
        """The account and the stamp of its current password (``auth.password_stamp``), for checking a cookie."""
        row = self.db.cursor().execute("SELECT password_hash FROM users WHERE email = ?",
                                    [auth.normalise_email(email)]).fetchone()
        found = self.user(email)
        return None if row is None or found is None else (found, auth.password_stamp(row[0]))

    def _manager(self, by: User | str, what: str) -> str:
        """Who manages accounts, as recorded in events. A User (the app) must be an admin whose account is still
        enabled, or the open-mode actor while no account exists; a string names an operator of the CLI, who holds
        the server's files and so is trusted."""
        if not isinstance(by, User):
            return by
        if by.open_mode:
            return self.actor(by).label  # refuses once accounts exist
        current = self.user(by.email)
        if current is None:
            raise PermissionDenied(f"there is no account for {by.email}", auth.RULES["signed_in"])
        auth.require(current, "manage_users", what=f"({what})", outcome="nothing was changed")
        return current.label

    def _enabled_admins(self) -> int:
        return self.db.cursor().execute("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled").fetchone()[0]

    def sign_in(self, email: str, password: str, client: str = "") -> User:
        """Check a local password; lock the account out after repeated failures. The error never says which part was wrong.

        The attempt is counted first, in one statement under the write lock, and its password checked only when
        it is among the first ``auth.MAX_FAILED_SIGNINS`` since the last success: concurrent attempts cannot
        all read the same count. A success clears the count only if no lock-out began meanwhile. ``client`` names
        who is asking (the app passes a key per browser session or address): each may make at most
        ``auth.MAX_CLIENT_ATTEMPTS`` attempts in a lock-out window, over all accounts.
        """
        email = auth.normalise_email(email)
        now = db.now()
        refused = auth.SignInError("e-mail or password not recognised, or the account is disabled or locked")
        too_many = auth.SignInError(f"too many failed sign-ins: try again in {auth.LOCKOUT.seconds // 60} minutes")
        if client and not self._client_attempts.allow(client, now):
            raise too_many  # not recorded: the e-mail may be anything, and the events table would grow with it
        found = self._count_attempt(email, now)
        if found is None:
            auth.verify_password(_DUMMY_HASH, password)  # same work as a real check: no timing hint
            raise refused
        ticket, stored, disabled = found
        if auth.lockout_ticket(ticket):
            self._user_event(email, "sign-in refused", f"{email}: locked out after failed sign-ins")
            raise too_many
        if disabled or not auth.verify_password(stored, password):
            self._user_event(email, "sign-in failed", email)
            raise refused
        reset = ("UPDATE users SET failed_signins = 0, last_failed_at = NULL, last_signin_at = ? "
                 "WHERE email = ? AND failed_signins - 1 < ? RETURNING email")
        if not self._write_users(reset, [now, email, auth.MAX_FAILED_SIGNINS], email, "sign-in", email):
            raise too_many  # other attempts locked the account while this one was checked
        user = self.user(email)
        assert user is not None
        return user

    def _count_attempt(self, email: str, now: datetime) -> tuple[int, str | None, bool] | None:
        """Add a sign-in attempt to the account's failure count (starting again once a lock-out has passed) in one
        statement; (the count including this attempt, password hash, disabled), or None when there is no account."""
        since = now - auth.LOCKOUT
        with self.db.lock:
            cur = self.db.writer()
            try:
                row = cur.execute(
                    "UPDATE users SET "
                    "failed_signins = CASE WHEN failed_signins >= $max AND last_failed_at < $since THEN 1 "
                    "ELSE failed_signins + 1 END, "
                    "last_failed_at = CASE WHEN failed_signins >= $max AND last_failed_at >= $since "
                    "THEN last_failed_at ELSE $now END "  # a lock-out runs from its last checked failure
                    "WHERE email = $email RETURNING failed_signins, password_hash, disabled",
                    {"max": auth.MAX_FAILED_SIGNINS, "since": since, "now": now, "email": email}).fetchall()
                self.db.checkpoint(cur)
            finally:
                cur.close()
        return (int(row[0][0]), row[0][1], bool(row[0][2])) if row else None

    def _user_event(self, by: str, action: str, detail: str) -> None:
        """Record an account event on its own (a refused or failed sign-in)."""
        with self.db.lock:
            cur = self.db.writer()
            try:
                db.event(cur, by, action, None, detail)
            finally:
                cur.close()

    def _existing(self, email: str) -> User:
        found = self.user(email)
        if found is None:
            raise CspdashError(f"there is no account for {auth.normalise_email(email)}; see `user list`")
        return found

    def _write_users(self, sql: str, params: list, by: str, action: str, detail: str) -> list:
        """Run one change to the accounts with its audit event in one transaction; the statement's rows (for
        RETURNING). A statement that changes no row records no event."""
        def change(cur: db.Cursor) -> list:
            rows = cur.execute(sql, params).fetchall()
            if "RETURNING" not in sql or rows:
                db.event(cur, by, action, None, detail)
            return rows

        return self.db.write(change)
