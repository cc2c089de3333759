"""The sign-in lock-out under concurrency: attempts are counted in one statement before the password is checked.

The app's browser sessions are threads sharing one ``Store`` (DuckDB lets one process hold the file), so the race
is between threads on a real DuckDB file. Before the fix, 12 sessions got 22 wrong passwords checked before the
lock (the design says 5) and a right password racing wrong ones reset the counter. A wrong password that was
checked is recorded as a ``sign-in failed`` event, one refused unchecked as ``sign-in refused``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from e2e_helpers import accounts_file, file_copy

from cspdash import auth
from cspdash.config import load_catalogue
from cspdash.store import Store

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "indicators.yaml"
PASSWORD = "correct horse battery staple"
WRONG = "not the right passphrase"
CHAIR = "chair-a@example.org"


@pytest.fixture(scope="module")
def accounts_template(tmp_path_factory) -> Path:
    """A closed database with an admin and a chair, made once per module (two password hashes, slow on purpose)."""
    return accounts_file(tmp_path_factory.mktemp("lockout-template") / "csp.duckdb", [
        ("admin@example.org", "admin", None, PASSWORD), (CHAIR, "chair", ["asb"], PASSWORD)])


@pytest.fixture
def store(accounts_template, tmp_path_factory):
    """A store on a fresh copy of the two accounts' database."""
    s = Store(file_copy(tmp_path_factory, accounts_template, "lockout"), load_catalogue(CONFIG))
    yield s
    s.close()


def race(store: Store, attempts: list[tuple[str, str]]) -> list[object]:
    """Run every (e-mail, password) sign-in at once, one thread each, released together; each outcome in order
    (the User signed in, or the SignInError)."""
    start = threading.Barrier(len(attempts))
    outcomes: list[object] = [None] * len(attempts)

    def attempt(i: int, email: str, password: str) -> None:
        start.wait()
        try:
            outcomes[i] = store.sign_in(email, password)
        except auth.SignInError as e:
            outcomes[i] = e

    threads = [threading.Thread(target=attempt, args=(i, e, p)) for i, (e, p) in enumerate(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return outcomes


def events(store: Store, action: str, email: str = CHAIR) -> int:
    return store.cursor().execute("SELECT count(*) FROM events WHERE action = ? AND user_name = ?",
                                  [action, email]).fetchall()[0][0]


def failed_count(store: Store, email: str = CHAIR) -> int:
    return store.cursor().execute("SELECT failed_signins FROM users WHERE email = ?", [email]).fetchall()[0][0]


def test_thirty_concurrent_wrong_passwords_lock_after_exactly_five_checked(store):
    outcomes = race(store, [(CHAIR, WRONG)] * 30)
    assert all(isinstance(o, auth.SignInError) for o in outcomes)
    assert events(store, "sign-in failed") == auth.MAX_FAILED_SIGNINS  # checked, and wrong
    assert events(store, "sign-in refused") == 30 - auth.MAX_FAILED_SIGNINS  # refused without a check
    assert sum("too many failed sign-ins" in str(o) for o in outcomes) == 30 - auth.MAX_FAILED_SIGNINS
    assert next(u for u in store.list_users() if u["email"] == CHAIR)["locked"]
    with pytest.raises(auth.SignInError, match="too many failed sign-ins"):
        store.sign_in(CHAIR, PASSWORD)
    assert store.sign_in("admin@example.org", PASSWORD).email == "admin@example.org"  # the lock is per account


def test_a_right_password_racing_wrong_ones_does_not_reset_a_lock(store):
    for _ in range(auth.MAX_FAILED_SIGNINS):
        with pytest.raises(auth.SignInError, match="not recognised"):
            store.sign_in(CHAIR, WRONG)
    attempts = [(CHAIR, WRONG)] * 15 + [(CHAIR, PASSWORD)] + [(CHAIR, WRONG)] * 15
    outcomes = race(store, attempts)
    assert all(isinstance(o, auth.SignInError) for o in outcomes)
    assert events(store, "sign-in failed") == auth.MAX_FAILED_SIGNINS  # not one more password was checked
    assert events(store, "sign-in") == 0
    assert failed_count(store) >= auth.MAX_FAILED_SIGNINS
    with pytest.raises(auth.SignInError, match="too many failed sign-ins"):
        store.sign_in(CHAIR, PASSWORD)
    store.unlock_user(CHAIR)  # an admin ends it
    assert store.sign_in(CHAIR, PASSWORD).email == CHAIR
    assert failed_count(store) == 0


def test_a_right_password_racing_wrong_ones_never_lets_more_than_five_wrong_through_between_successes(store):
    """Whatever order the race takes, the wrong passwords checked since the last successful sign-in are at most five,
    and a right password counted after the fifth failure is refused."""
    outcomes = race(store, [(CHAIR, WRONG)] * 10 + [(CHAIR, PASSWORD)] + [(CHAIR, WRONG)] * 10)
    signed_in = [o for o in outcomes if isinstance(o, auth.User)]
    actions = [a for (a,) in store.cursor().execute(
        "SELECT action FROM events WHERE user_name = ? AND action IN ('sign-in', 'sign-in failed') ORDER BY event_id",
        [CHAIR]).fetchall()]
    runs = "".join("S" if a == "sign-in" else "F" for a in actions).split("S")
    assert all(len(run) <= auth.MAX_FAILED_SIGNINS for run in runs)
    assert len(signed_in) == actions.count("sign-in") <= 1


def test_a_lock_out_ends_after_its_time_and_counting_starts_again(store):
    for _ in range(auth.MAX_FAILED_SIGNINS):
        with pytest.raises(auth.SignInError):
            store.sign_in(CHAIR, WRONG)
    past = datetime.now(UTC).replace(tzinfo=None) - auth.LOCKOUT - timedelta(minutes=1)
    store.cursor().execute("UPDATE users SET last_failed_at = ? WHERE email = ?", [past, CHAIR])
    assert store.sign_in(CHAIR, PASSWORD).email == CHAIR
    assert failed_count(store) == 0


def test_four_failures_then_the_right_password_signs_in(store):
    for _ in range(auth.MAX_FAILED_SIGNINS - 1):
        with pytest.raises(auth.SignInError, match="not recognised"):
            store.sign_in(CHAIR, WRONG)
    assert store.sign_in(CHAIR, PASSWORD).email == CHAIR
    assert failed_count(store) == 0


def test_one_client_is_limited_over_all_accounts(store):
    """Five wrong passwords on each of many accounts from one client: the client is stopped after
    MAX_CLIENT_ATTEMPTS attempts in all, even with a right password; another client is not."""
    emails = [f"viewer{i}@example.org" for i in range(auth.MAX_CLIENT_ATTEMPTS // 4)]
    for e in emails:
        store.add_user(e, "viewer", password=PASSWORD)
    for e in emails:
        for _ in range(4):  # below each account's own lock-out
            with pytest.raises(auth.SignInError, match="not recognised"):
                store.sign_in(e, WRONG, client="browser-1")
    with pytest.raises(auth.SignInError, match="too many"):
        store.sign_in(CHAIR, PASSWORD, client="browser-1")
    assert failed_count(store) == 0  # refused before the account was touched
    assert store.sign_in(CHAIR, PASSWORD, client="browser-2").email == CHAIR


@pytest.mark.parametrize(("ticket", "refused"), [(1, False), (auth.MAX_FAILED_SIGNINS, False),
                                                 (auth.MAX_FAILED_SIGNINS + 1, True), (100, True)])
def test_only_the_first_tickets_are_checked(ticket, refused):
    assert auth.lockout_ticket(ticket) is refused


@pytest.mark.parametrize(("times", "expected"), [
    ([0] * 3, [True, True, True]),
    ([0, 0, 0, 0], [True, True, True, False]),  # the fourth in the window is over a limit of three
    ([0, 1, 2, 16], [True, True, True, True]),  # the first fell out of the 15-minute window
    ([0, 1, 2, 3, 4, 16, 18], [True, True, True, False, False, False, True]),  # refused attempts count too
])
def test_attempt_limiter(times, expected):
    limiter = auth.AttemptLimiter(limit=3, window=timedelta(minutes=15))
    t0 = datetime(2026, 1, 1, 9)
    assert [limiter.allow("k", t0 + timedelta(minutes=m)) for m in times] == expected
    assert limiter.allow("other", t0)
