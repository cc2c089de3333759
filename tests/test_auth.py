"""The permission matrix as one table, and the password and lock-out rules."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from cspdash import auth
from cspdash.auth import PermissionDenied, User

ADMIN = User("admin@example.org", "admin")
CHAIR = User("chair-a@example.org", "chair", ("asb",))
VIEWER = User("viewer@example.org", "viewer")
MEETING = User("screen@example.org", "meeting")
DISABLED = User("old@example.org", "admin", disabled=True)

# (user, action, owners of the indicators touched, allowed?, rule when refused)
OWN, OTHER, MIXED = ("asb",), ("vawg",), ("asb", "vawg")
MATRIX = [
    (user, action, owners, expected, rule)
    for action in auth.SCOPED_ACTIONS
    for owners, label in ((OWN, "own"), (OTHER, "other"), (MIXED, "mixed"))
    for user, expected, rule in (
        (ADMIN, True, None),
        (CHAIR, label == "own", None if label == "own" else "own_subgroup"),
        (VIEWER, False, "read_only"),
        (MEETING, False, "read_only"),
        (DISABLED, False, "disabled"),
    )
] + [
    (user, action, (), expected, rule)
    for action in auth.GLOBAL_ACTIONS
    for user, expected, rule in (
        (ADMIN, True, None),
        (CHAIR, False, "admin_only"),
        (VIEWER, False, "read_only"),
        (MEETING, False, "read_only"),
        (DISABLED, False, "disabled"),
    )
]


@pytest.mark.parametrize(("user", "action", "owners", "expected", "rule"), MATRIX,
                         ids=[f"{u.role}{'-disabled' if u.disabled else ''}-{a}-{'+'.join(o) or 'global'}"
                              for u, a, o, _, _ in MATRIX])
def test_permission_matrix(user: User, action: str, owners: tuple[str, ...], expected: bool, rule: str | None) -> None:
    assert auth.allowed(user, action, owners) is expected
    if expected:
        auth.require(user, action, owners)
    else:
        with pytest.raises(PermissionDenied) as e:
            auth.require(user, action, owners, what="B2 2025/26 Q3")
        assert e.value.rule == auth.RULES[rule]
        assert auth.RULES[rule] in str(e.value) and user.email in str(e.value)


def test_the_matrix_covers_every_role_and_action() -> None:
    assert {u.role for u, *_ in MATRIX} == set(auth.ROLES)
    assert {a for _, a, *_ in MATRIX} == set(auth.ACTIONS)


def test_chair_refusal_names_the_other_subgroup() -> None:
    with pytest.raises(PermissionDenied, match="belongs to subgroup vawg"):
        auth.require(CHAIR, "upload", MIXED)


def test_unknown_action_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown action"):
        auth.require(ADMIN, "delete_everything")


@pytest.mark.parametrize(("password", "ok"), [("short", False), ("x" * 11, False), ("correct horse battery", True)])
def test_password_hash_round_trip(password: str, ok: bool) -> None:
    if not ok:
        with pytest.raises(auth.CspdashError, match="at least 12 characters"):
            auth.hash_password(password)
        return
    h = auth.hash_password(password)
    assert h.startswith("$argon2id$") and password not in h
    assert auth.verify_password(h, password)
    assert not auth.verify_password(h, password + "!")
    assert not auth.verify_password(None, password)
    assert not auth.verify_password("not a hash", password)


NOW = datetime(2026, 1, 1, 12, 0)


@pytest.mark.parametrize(("failed", "ago", "expected"), [
    (0, None, False),
    (4, timedelta(minutes=1), False),
    (5, timedelta(minutes=1), True),
    (9, timedelta(minutes=14), True),
    (5, timedelta(minutes=15), False),
])
def test_lockout(failed: int, ago: timedelta | None, expected: bool) -> None:
    assert auth.locked(failed, NOW - ago if ago else None, NOW) is expected


@pytest.mark.parametrize(("age", "expired"), [(None, True), (timedelta(hours=1), False), (timedelta(hours=9), True)])
def test_session_expiry(age: timedelta | None, expired: bool) -> None:
    assert auth.session_expired(NOW - age if age else None, NOW) is expired


@pytest.mark.parametrize(("email", "ok"), [("a@b.org", True), (" A@B.ORG ", True), ("nobody", False), ("a@b", False)])
def test_valid_email(email: str, ok: bool) -> None:
    assert auth.valid_email(email) is ok
