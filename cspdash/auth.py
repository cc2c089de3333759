"""Who may do what: roles, the permission rules, password hashing and the sign-in lock-out.

Pure logic; the store keeps the accounts and calls ``require`` before every write, so the CLI, the pages and any
other caller go through the same rules.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

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
#: Sign-in attempts one client (a browser session, or an IP address) may make in a LOCKOUT window, over all
#: accounts: the per-account lock-out alone lets one client try five passwords on every account in turn.
MAX_CLIENT_ATTEMPTS = 20
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
    "measured_admin_only": "figures computed from record-level data (a measure: in the catalogue) are replaced only "
                           "by an admin",
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
# Who may read: open mode, sign-in, and a public dashboard
# ------------------------------------------------------------------------------------------------

OPEN_MODE_ENV = "CSPDASH_OPEN_MODE"
LOOPBACK = ("127.0.0.1", "::1", "localhost")

#: What a browser session of the app may see (``access``): the closed vocabulary of the app's gate.
ACCESS = {
    "open": "no accounts yet and open mode is on (CSPDASH_OPEN_MODE=1, served on 127.0.0.1 only): anyone may read "
            "and, naming an e-mail, change data",
    "setup": "no accounts yet and open mode is off: only how to create the first admin is shown",
    "member": "signed in with an account: what the role allows",
    "public": "accounts exist, nobody is signed in and the catalogue says partnership.public: statuses and figures, "
              "never uploaders' e-mails or original files",
    "closed": "accounts exist and nobody is signed in: only the sign-in form is shown",
}


def loopback(address: str | None) -> bool:
    """Whether a server bound to ``address`` (Streamlit's ``server.address``; unset = every interface) is reachable
    from this machine only."""
    a = (address or "").strip().lower().strip("[]")
    return a in LOOPBACK or a.startswith("127.")


def open_mode_refusal(setting: str | None, address: str | None) -> str | None:
    """None when open mode may be used (``CSPDASH_OPEN_MODE`` is ``1`` and the server listens on a loopback address
    only); otherwise why it may not, in words."""
    if (setting or "").strip() != "1":
        return f"open mode is off ({OPEN_MODE_ENV} is not set to 1)"
    if not loopback(address):
        where = f"address {address}" if (address or "").strip() else "every network interface (server.address unset)"
        return (f"{OPEN_MODE_ENV}=1 is refused because the app listens on {where}: open mode lets anyone who reaches "
                "the app change data, so it is served on 127.0.0.1 only. Set server.address = \"127.0.0.1\" in "
                ".streamlit/config.toml (or --server.address 127.0.0.1), or create the first admin")
    return None


def access(has_accounts: bool, signed_in: bool, open_refusal: str | None, public: bool) -> str:
    """The key of ``ACCESS`` for a session: whether accounts exist, whether it is signed in, why open mode is refused
    (None when allowed) and the catalogue's ``partnership.public``."""
    if not has_accounts:
        return "open" if open_refusal is None else "setup"
    if signed_in:
        return "member"
    return "public" if public else "closed"


# ------------------------------------------------------------------------------------------------
# Sign-in through an OpenID Connect identity provider (Entra ID): its claims mapped to an account
# ------------------------------------------------------------------------------------------------

def provider_account(claims: Mapping[str, object], account: Callable[[str], User | None]) -> tuple[User | None, str]:
    """The enabled account whose e-mail the identity provider vouches for in ``claims`` (the ID token's), looked up
    by ``account``, with ''; or None with why it is refused, in words the person signing in can act on.

    The ``email`` claim is the key (case-insensitive, as accounts are stored); an ``email_verified`` claim of false
    refuses it, since an unverified address proves nothing. Entra ID sends no ``email_verified``: it is trusted
    for the tenant's own users, whose addresses the council's IT set (docs/auth.md).
    """
    email = normalise_email(str(claims.get("email") or ""))
    if not email:
        return None, ("your identity provider did not say your e-mail address, so this dashboard cannot tell who you "
                      "are; ask the CSP analyst to have the sign-in send the email claim")
    if claims.get("email_verified") is False or str(claims.get("email_verified")).lower() == "false":
        return None, (f"your identity provider says {email} is not verified, so it cannot be used to sign in here; "
                      "ask the CSP analyst")
    user = account(email)
    if user is None:
        return None, f"there is no account for {email} on this dashboard; ask the CSP analyst to add one"
    if user.disabled:
        return None, f"the account {email} is disabled; ask the CSP analyst if you still need it"
    return user, ""


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


def lockout_ticket(ticket: int) -> bool:
    """Whether a sign-in attempt that drew ``ticket`` (the account's failure counter after this attempt was added
    to it, in one statement, before its password is checked) is refused unchecked: only the first
    MAX_FAILED_SIGNINS attempts since the last success or the end of a lock-out are ever checked."""
    return ticket > MAX_FAILED_SIGNINS


class AttemptLimiter:
    """At most ``limit`` sign-in attempts per client key in any ``window``; thread-safe (the app's sessions are
    threads sharing one store). Held in memory: a restart forgets it, while the per-account lock-out is stored."""

    def __init__(self, limit: int = MAX_CLIENT_ATTEMPTS, window: timedelta = LOCKOUT) -> None:
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._seen: dict[str, deque[datetime]] = {}

    def allow(self, key: str, now: datetime) -> bool:
        """Record an attempt by ``key`` at ``now``; False (recorded all the same) once it is over the limit."""
        with self._lock:
            for k in [k for k, q in self._seen.items() if q and now - q[-1] >= self.window]:
                del self._seen[k]  # forget clients quiet for a whole window: the table stays small
            seen = self._seen.setdefault(key, deque())
            while seen and now - seen[0] >= self.window:
                seen.popleft()
            seen.append(now)
            return len(seen) <= self.limit


def session_expired(signed_in_at: datetime | None, now: datetime) -> bool:
    """Whether a sign-in is too old to trust."""
    return signed_in_at is None or now - signed_in_at > SESSION_LIFETIME


# ------------------------------------------------------------------------------------------------
# The sign-in cookie: a signed, expiring token, so a reload does not sign the user out
# ------------------------------------------------------------------------------------------------

COOKIE_NAME = "cspdash_session"
SECRET_ENV = "CSPDASH_COOKIE_SECRET"  # noqa: S105  (the variable's name, not a secret)
SECRET_SUFFIX = ".cookie-secret"  # noqa: S105  (a file name ending, not a secret)
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class Token:
    """What a verified sign-in cookie says: who, until when, and the stamp of the password it was issued under."""

    email: str
    expires: datetime
    stamp: str


def password_stamp(password_hash: str | None) -> str:
    """A short digest of the stored password hash: a new password changes it, so older cookies stop verifying."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def _mac(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()


def sign_token(email: str, stamp: str, expires: datetime, secret: bytes) -> str:
    """``email.expiry.stamp.mac``: the e-mail base64url-encoded, the expiry in epoch seconds, an HMAC-SHA256 of all."""
    name = base64.urlsafe_b64encode(normalise_email(email).encode()).decode().rstrip("=")
    payload = f"{name}.{int(expires.timestamp())}.{stamp}"
    return f"{payload}.{_mac(secret, payload)}"


def read_token(token: str, secret: bytes, now: datetime) -> Token | None:
    """The token's claims when its signature matches ``secret`` and it has not expired; None otherwise."""
    parts = (token or "").split(".")
    if len(parts) != 4:
        return None
    name, expiry, stamp, mac = parts
    if not hmac.compare_digest(_mac(secret, f"{name}.{expiry}.{stamp}"), mac):
        return None
    try:
        email = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
        expires = datetime.fromtimestamp(int(expiry))
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError, OSError):
        return None
    return Token(email, expires, stamp) if now < expires else None


def verify_token(token: str, secret: bytes, now: datetime,
                 account: Callable[[str], tuple[User, str] | None]) -> Token | None:
    """The token's claims when it is genuine, unexpired, and its account (looked up by ``account``, which returns
    the user and their current password stamp) still exists, is enabled and has the same password; else None."""
    claims = read_token(token, secret, now)
    if claims is None:
        return None
    found = account(claims.email)
    if found is None:
        return None
    user, stamp = found
    if user.disabled or not hmac.compare_digest(stamp, claims.stamp):
        return None
    return claims


def cookie_secret(db: str | Path) -> bytes:
    """The server's cookie secret: ``$CSPDASH_COOKIE_SECRET``, else a random one made once in ``<db>.cookie-secret``
    (mode 0600) beside the database, else (an in-memory database) a new random one."""
    given = os.environ.get(SECRET_ENV)
    if given is not None:
        if len(given) < MIN_SECRET_LENGTH:
            raise CspdashError(f"{SECRET_ENV} is {len(given)} characters long; it must be at least "
                               f"{MIN_SECRET_LENGTH}. Make one with: python -c 'import secrets; "
                               "print(secrets.token_hex(32))'")
        return given.encode()
    if str(db) == ":memory:":
        return secrets.token_bytes(32)
    path = Path(str(db) + SECRET_SUFFIX)
    if not path.exists():
        _create_secret(path)
    if path.stat().st_mode & 0o077:
        raise CspdashError(f"{path} can be read by other users of this machine; make it private with "
                           f"`chmod 600 {path}` and restart the app")
    secret = path.read_bytes().strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise CspdashError(f"{path} holds no usable secret ({len(secret)} bytes); delete it and restart the app "
                           "(everyone signed in will have to sign in again)")
    return secret


def _create_secret(path: Path) -> None:
    """Write a new secret with mode 0600; a hard link makes it appear whole or not at all, and two processes
    racing both end up with the one that was linked first."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, secrets.token_hex(32).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process made it first: use theirs
    finally:
        tmp.unlink(missing_ok=True)
