"""Who may do what: roles, the permission rules, password hashing and the sign-in lock-out.

Pure logic; the store keeps the accounts and calls ``require`` before every write, so the CLI, the pages and any
other caller go through the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from cspdash.errors import CspdashError

ROLES = ("admin", "chair", "viewer", "meeting")
# Actions on data scoped to the subgroups that own the indicators touched, and actions with no scope.
SCOPED_ACTIONS = ("upload", "restate", "withdraw", "comment")
GLOBAL_ACTIONS = ("import_dataset", "freeze", "manage_users", "backup", "restore")
ACTIONS = (*SCOPED_ACTIONS, *GLOBAL_ACTIONS)
MAX_FAILED_SIGNINS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=8)
MIN_PASSWORD_LENGTH = 12
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class PermissionDenied(CspdashError):
    """A user tried something their role does not allow; ``rule`` names the rule that refused it."""

    def __init__(self, message: str, rule: str, outcome: str = "") -> None:
        self.rule = rule
        super().__init__(f"permission denied: {message} (rule: {rule}){'; ' + outcome if outcome else ''}")


class SignInError(CspdashError):
    """A sign-in failed; the message never says whether the account exists."""


@dataclass(frozen=True)
class User:
    """An account, or the implicit administrator of a database that has no accounts yet (``open_mode``)."""

    email: str
    role: str
    subgroups: tuple[str, ...] = ()
    disabled: bool = False
    open_mode: bool = False

    @property
    def label(self) -> str:
        """How the user is named in the audit trail and on screen."""
        return self.email

    @property
    def can_write(self) -> bool:
        """Whether the role can change any data at all."""
        return self.role in ("admin", "chair") and not self.disabled


RULES = {
    "disabled": "a disabled account can do nothing",
    "read_only": "viewer and meeting accounts are read-only",
    "own_subgroup": "chairs change only the indicators their subgroups own",
    "admin_only": "only an admin (the CSP analyst) may do this",
    "signed_in": "once accounts exist, every change needs a signed-in user with an account",
}


def normalise_email(email: str) -> str:
    """Lower-case, trimmed e-mail; PermissionDenied-free ValueError-free check is done by ``valid_email``."""
    return (email or "").strip().lower()


def valid_email(email: str) -> bool:
    """Whether ``email`` looks like an e-mail address."""
    return bool(_EMAIL.match(normalise_email(email)))


def allowed(user: User, action: str, owners: Iterable[str] = ()) -> bool:
    """Whether ``user`` may do ``action`` to indicators owned by ``owners`` (subgroup ids)."""
    try:
        require(user, action, owners)
    except PermissionDenied:
        return False
    return True


def require(user: User, action: str, owners: Iterable[str] = (), what: str = "", outcome: str = "") -> None:
    """Raise PermissionDenied unless ``user`` may do ``action`` to indicators owned by ``owners``.

    ``what`` names the thing refused in the message and ``outcome`` says what happened (e.g. nothing stored).
    """
    try:
        _require(user, action, owners, what)
    except PermissionDenied as e:
        if outcome:
            raise PermissionDenied(str(e).removeprefix("permission denied: ").rsplit(" (rule: ", 1)[0], e.rule,
                                   outcome) from None
        raise


def _require(user: User, action: str, owners: Iterable[str], what: str) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    who = f"{user.email} ({user.role}{' of ' + ', '.join(user.subgroups) if user.subgroups else ''})"
    target = f" {what}" if what else ""
    if user.disabled:
        raise PermissionDenied(f"{who} is disabled and may not {action}{target}", RULES["disabled"])
    if user.role == "admin":
        return
    if user.role in ("viewer", "meeting"):
        raise PermissionDenied(f"{who} may not {action}{target}", RULES["read_only"])
    if user.role != "chair":
        raise PermissionDenied(f"{who} has no known role", RULES["read_only"])
    if action in GLOBAL_ACTIONS:
        raise PermissionDenied(f"{who} may not {action.replace('_', ' ')}{target}", RULES["admin_only"])
    others = sorted(set(owners) - set(user.subgroups))
    if others:
        raise PermissionDenied(f"{who} may not {action}{target}: it belongs to subgroup {', '.join(others)}",
                               RULES["own_subgroup"])


# ------------------------------------------------------------------------------------------------
# Passwords and lock-out
# ------------------------------------------------------------------------------------------------

def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (refusing short ones)."""
    check_password_strength(password)
    return PasswordHasher().hash(password)


def check_password_strength(password: str) -> None:
    """Refuse passwords shorter than MIN_PASSWORD_LENGTH characters."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise CspdashError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long; "
                           "a passphrase of several words is easiest to remember")


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches the stored hash (False for no hash or a damaged one)."""
    if not stored_hash:
        return False
    try:
        return PasswordHasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def locked(failed: int, last_failed_at: datetime | None, now: datetime) -> bool:
    """Whether an account is locked out after too many failed sign-ins."""
    return failed >= MAX_FAILED_SIGNINS and last_failed_at is not None and now - last_failed_at < LOCKOUT


def session_expired(signed_in_at: datetime | None, now: datetime) -> bool:
    """Whether a sign-in is too old to trust."""
    return signed_in_at is None or now - signed_in_at > SESSION_LIFETIME
