"""The sign-in cookie's token: signed, expiring, tied to the account's password and enabled state; and its secret."""

from __future__ import annotations

import stat
from datetime import datetime, timedelta

import pytest

from cspdash import auth
from cspdash.auth import User
from cspdash.errors import CspdashError

SECRET = b"s" * 32
OTHER_SECRET = b"o" * 32
NOW = datetime(2026, 12, 7, 12, 0, 0)
LATER = NOW + auth.SESSION_LIFETIME
STAMP = auth.password_stamp("$argon2id$the-current-hash")
CHAIR = User("chair-a@example.org", "chair", ("asb",))
GOOD = auth.sign_token("Chair-A@Example.org", STAMP, LATER, SECRET)


def tamper(token: str, part: int, value: str) -> str:
    parts = token.split(".")
    parts[part] = value
    return ".".join(parts)


def accounts(user: User = CHAIR, stamp: str = STAMP):
    return lambda email: (user, stamp) if email == user.email else None


# (case, token, secret, now, account lookup, verified?)
CASES = [
    ("genuine", GOOD, SECRET, NOW, accounts(), True),
    ("one second before expiry", GOOD, SECRET, LATER - timedelta(seconds=1), accounts(), True),
    ("expired", GOOD, SECRET, LATER, accounts(), False),
    ("long expired", GOOD, SECRET, LATER + timedelta(days=30), accounts(), False),
    ("wrong secret", GOOD, OTHER_SECRET, NOW, accounts(), False),
    ("e-mail swapped", tamper(GOOD, 0, auth.sign_token("admin@example.org", STAMP, LATER, SECRET).split(".")[0]),
     SECRET, NOW, accounts(), False),
    ("expiry pushed back", tamper(GOOD, 1, str(int((LATER + timedelta(days=365)).timestamp()))), SECRET, NOW,
     accounts(), False),
    ("mac altered", tamper(GOOD, 3, "0" * 64), SECRET, NOW, accounts(), False),
    ("truncated", GOOD.rsplit(".", 1)[0], SECRET, NOW, accounts(), False),
    ("empty", "", SECRET, NOW, accounts(), False),
    ("garbage", "not a token at all", SECRET, NOW, accounts(), False),
    ("disabled user", GOOD, SECRET, NOW, accounts(User(CHAIR.email, "chair", ("asb",), disabled=True)), False),
    ("password changed", GOOD, SECRET, NOW, accounts(stamp=auth.password_stamp("$argon2id$a-new-hash")), False),
    ("account deleted", GOOD, SECRET, NOW, lambda email: None, False),
]


@pytest.mark.parametrize(("token", "secret", "now", "account", "ok"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_verify_token(token, secret, now, account, ok):
    claims = auth.verify_token(token, secret, now, account)
    assert (claims is not None) is ok
    if ok:
        assert claims == auth.Token("chair-a@example.org", LATER, STAMP)


def test_read_token_checks_signature_and_expiry_only():
    assert auth.read_token(GOOD, SECRET, NOW) == auth.Token("chair-a@example.org", LATER, STAMP)
    assert auth.read_token(GOOD, SECRET, LATER) is None
    assert auth.read_token(GOOD, OTHER_SECRET, NOW) is None


def test_token_is_a_safe_cookie_value():
    token = auth.sign_token("o'brien+test@example.org", STAMP, LATER, SECRET)
    assert not set(token) & set(" ;,\"'\\<>")
    assert auth.read_token(token, SECRET, NOW).email == "o'brien+test@example.org"


def test_password_stamp_follows_the_hash():
    assert auth.password_stamp("a") == auth.password_stamp("a") != auth.password_stamp("b")
    assert auth.password_stamp(None) == auth.password_stamp("")


def test_cookie_secret_is_made_once_beside_the_database_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv(auth.SECRET_ENV, raising=False)
    db = tmp_path / "csp.duckdb"
    first = auth.cookie_secret(db)
    path = tmp_path / ("csp.duckdb" + auth.SECRET_SUFFIX)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= auth.MIN_SECRET_LENGTH
    assert auth.cookie_secret(db) == first  # the same secret after a restart
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
    path.chmod(0o644)
    with pytest.raises(CspdashError, match="chmod 600"):
        auth.cookie_secret(db)


@pytest.mark.parametrize(("value", "ok"), [("x" * 32, True), ("x" * 64, True), ("short", False), ("", False)])
def test_cookie_secret_from_the_environment(tmp_path, monkeypatch, value, ok):
    monkeypatch.setenv(auth.SECRET_ENV, value)
    if ok:
        assert auth.cookie_secret(tmp_path / "csp.duckdb") == value.encode()
        assert not list(tmp_path.iterdir())
    else:
        with pytest.raises(CspdashError, match="at least 32"):
            auth.cookie_secret(tmp_path / "csp.duckdb")


def test_in_memory_databases_get_a_fresh_secret(monkeypatch):
    monkeypatch.delenv(auth.SECRET_ENV, raising=False)
    assert auth.cookie_secret(":memory:") != auth.cookie_secret(":memory:")
