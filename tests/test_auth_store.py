"""Permissions enforced in the library and through the CLI: accounts, sign-in, and refused writes that store nothing."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_helpers import accounts_file, file_copy

from cspdash import auth
from cspdash.auth import PermissionDenied, User
from cspdash.cli import main
from cspdash.config import load_catalogue
from cspdash.ingest import SourceFile
from cspdash.periods import parse_period
from cspdash.store import Store

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "indicators.yaml"
A_RETURN = b"indicator,period,value,commentary\nA2,2025/26 Q3,180,fine\n"
B_RETURN = b"indicator,period,value\nB2,2025/26 Q3,1500\n"
PASSWORD = "correct horse battery staple"


def ret(name: str, data: bytes) -> SourceFile:
    return SourceFile(name, data=data)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "csp.duckdb", load_catalogue(CONFIG))
    yield s
    s.close()


@pytest.fixture(scope="module")
def accounts_template(tmp_path_factory) -> Path:
    """A closed database with the four accounts, made once per module (two password hashes, slow on purpose)."""
    return accounts_file(tmp_path_factory.mktemp("accounts-template") / "csp.duckdb", [
        ("admin@example.org", "admin", None, PASSWORD), ("chair-a@example.org", "chair", ["asb"], PASSWORD),
        ("viewer@example.org", "viewer", None, None), ("screen@example.org", "meeting", None, None)])


@pytest.fixture
def accounts(accounts_template, tmp_path_factory):
    """A store on a fresh copy of the four accounts' database."""
    s = Store(file_copy(tmp_path_factory, accounts_template, "accounts"), load_catalogue(CONFIG))
    yield s
    s.close()


def snapshot(store: Store) -> tuple:
    cur = store.cursor()
    return (store.data_version(), cur.execute("SELECT count(*) FROM uploads").fetchone()[0],
            cur.execute("SELECT count(*) FROM observations").fetchone()[0],
            cur.execute("SELECT count(*) FROM commentary").fetchone()[0])


def test_open_mode_until_the_first_account(store):
    store.import_files([ret("a.csv", A_RETURN)], "someone@example.org")
    assert store.history()[0]["user"] == "someone@example.org"
    store.add_user("admin@example.org", "admin", password=PASSWORD)
    with pytest.raises(PermissionDenied, match="pass --user") as e:
        store.import_files([ret("b.csv", B_RETURN)], None)
    assert e.value.rule == auth.RULES["signed_in"]
    with pytest.raises(PermissionDenied, match=r"no account for stranger@example\.org"):
        store.import_files([ret("b.csv", B_RETURN)], "stranger@example.org")
    # an open-mode identity held by a session from before the first account no longer writes
    with pytest.raises(PermissionDenied, match="sign in again"):
        store.import_files([ret("b.csv", B_RETURN)], User("x@example.org", "admin", open_mode=True))


# (who, file, allowed?)
WRITES = [
    ("admin@example.org", B_RETURN, True),
    ("chair-a@example.org", A_RETURN, True),
    ("chair-a@example.org", B_RETURN, False),
    ("chair-a@example.org", A_RETURN + b"B2,2025/26 Q3,1500,\n", False),  # one foreign row refuses the file
    ("viewer@example.org", A_RETURN, False),
    ("screen@example.org", A_RETURN, False),
]


@pytest.mark.parametrize(("who", "data", "ok"), WRITES, ids=[f"{w}-{i}" for i, (w, _, _) in enumerate(WRITES)])
@pytest.mark.parametrize("dry_run", [False, True])
def test_import_permissions_store_nothing_when_refused(accounts, who, data, ok, dry_run):
    before = snapshot(accounts)
    if ok:
        accounts.import_files([ret("r.csv", data)], who, dry_run=dry_run)
        assert (snapshot(accounts) == before) is dry_run
    else:
        with pytest.raises(PermissionDenied, match="nothing was stored"):
            accounts.import_files([ret("r.csv", data)], who, dry_run=dry_run)
        assert snapshot(accounts) == before


def test_datasets_are_for_admins(accounts, tmp_path):
    csv = ROOT / "tests" / "data" / "police-uk-city-of-london" / "2014-09-city-of-london-street.csv"
    with pytest.raises(PermissionDenied, match="only an admin"):
        accounts.import_files([SourceFile.from_path(csv)], "chair-a@example.org", "street_crime")
    res = accounts.import_files([SourceFile.from_path(csv)], "admin@example.org", "street_crime")
    uid = res.uploads[0]["upload_id"]
    with pytest.raises(PermissionDenied, match="only an admin"):
        accounts.withdraw(uid, "chair-a@example.org")


def test_withdraw_and_comment_follow_ownership(accounts):
    own = accounts.import_files([ret("a.csv", A_RETURN)], "chair-a@example.org").uploads[0]["upload_id"]
    other = accounts.import_files([ret("b.csv", B_RETURN)], "admin@example.org").uploads[0]["upload_id"]
    q = parse_period("2025/26 Q3")
    with pytest.raises(PermissionDenied, match="belongs to subgroup vawg"):
        accounts.withdraw(other, "chair-a@example.org")
    with pytest.raises(PermissionDenied, match="read-only"):
        accounts.withdraw(own, "viewer@example.org")
    assert accounts.withdraw(own, "chair-a@example.org")["withdrawn_by"] == "chair-a@example.org"
    with pytest.raises(PermissionDenied, match="belongs to subgroup vawg"):
        accounts.add_commentary("B2", q, "not mine", "chair-a@example.org")
    accounts.add_commentary("A2", q, "mine", "chair-a@example.org")
    assert accounts.commentary("A2", q)[0]["user"] == "chair-a@example.org"


def test_disabled_accounts_can_do_nothing(accounts):
    accounts.disable_user("chair-a@example.org")
    with pytest.raises(PermissionDenied, match="disabled"):
        accounts.import_files([ret("a.csv", A_RETURN)], "chair-a@example.org")
    with pytest.raises(auth.SignInError):
        accounts.sign_in("chair-a@example.org", PASSWORD)


def test_sign_in_locks_out_after_repeated_failures(accounts):
    assert accounts.sign_in("Chair-A@Example.org", PASSWORD).subgroups == ("asb",)
    for _ in range(auth.MAX_FAILED_SIGNINS):
        with pytest.raises(auth.SignInError, match="not recognised"):
            accounts.sign_in("chair-a@example.org", "wrong password here")
    with pytest.raises(auth.SignInError, match="too many failed sign-ins"):
        accounts.sign_in("chair-a@example.org", PASSWORD)
    accounts.set_password("chair-a@example.org", "a brand new passphrase")  # an admin reset clears the lock
    assert accounts.sign_in("chair-a@example.org", "a brand new passphrase").email == "chair-a@example.org"
    with pytest.raises(auth.SignInError, match="not recognised"):
        accounts.sign_in("nobody@example.org", PASSWORD)


@pytest.mark.parametrize(("args", "message"), [
    (("x@example.org", "chair", []), "at least one subgroup"),
    (("x@example.org", "viewer", ["asb"]), "only chairs"),
    (("x@example.org", "chair", ["nope"]), "no subgroup nope"),
    (("x@example.org", "boss", []), "unknown role"),
    (("not-an-email", "admin", []), "not an e-mail"),
    (("admin@example.org", "admin", []), "already has an account"),
])
def test_bad_accounts_are_refused(accounts, args, message):
    with pytest.raises(auth.CspdashError, match=message):
        accounts.add_user(*args)


def test_no_password_or_hash_is_listed_or_logged(accounts):
    rows = accounts.list_users()
    assert {r["email"] for r in rows} >= {"admin@example.org", "chair-a@example.org"}
    assert all("password_hash" not in r for r in rows)
    assert PASSWORD not in str(accounts.events())


def cli(db: Path, *args: str, stdin: str = "") -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "cspdash", "--db", str(db), "--config", str(CONFIG), *args],
                          input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_cli_chair_cannot_import_another_priority(tmp_path):
    db = tmp_path / "csp.duckdb"
    (tmp_path / "b-return.csv").write_bytes(B_RETURN)
    assert cli(db, "init")[0] == 0
    assert cli(db, "user", "add", "chair-a@example.org", "--role", "chair", "--subgroup", "asb",
               "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    before = db.read_bytes()
    rc, out, err = cli(db, "import", str(tmp_path / "b-return.csv"), "--user", "chair-a@example.org")
    assert rc == 1 and out == ""
    assert "permission denied" in err and "B2" in err and "nothing was stored" in err
    assert db.read_bytes() == before
    rc, out, _ = cli(db, "history", "--format", "json")
    assert rc == 0 and out.strip() == "[]"


def test_cli_user_commands(tmp_path, capsys, monkeypatch):
    db = str(tmp_path / "csp.duckdb")
    base = ["--db", db, "--config", str(CONFIG), "user"]
    assert main([*base[:-1], "init"]) == 0  # user add never makes a database
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main([*base, "add", "admin@example.org", "--role", "admin", "--password-stdin"]) == 0
    assert main([*base, "add", "sso@example.org", "--role", "viewer", "--no-password"]) == 0
    assert main([*base, "list", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "sso@example.org" in out and PASSWORD not in out and "argon2" not in out
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main([*base, "set-password", "admin@example.org", "--password-stdin"]) == 1
    assert "at least 12 characters" in capsys.readouterr().err
    assert main([*base, "disable", "sso@example.org"]) == 0
    assert main([*base, "disable", "ghost@example.org"]) == 1


ADMIN = User("admin@example.org", "admin")

# (who manages, allowed?, message when refused)
MANAGERS = [
    (ADMIN, True, None),
    ("ops (cli)", True, None),  # the CLI operator holds the server's files
    (User("chair-a@example.org", "chair", ("asb",)), False, "only an admin"),
    (User("viewer@example.org", "viewer"), False, "read-only"),
    (User("ghost@example.org", "admin"), False, "no account for ghost"),
    (User("someone@example.org", "admin", open_mode=True), False, "sign in again"),
]
OPERATIONS = {
    "add": lambda s, by: s.add_user("new@example.org", "viewer", by=by),
    "disable": lambda s, by: s.disable_user("viewer@example.org", by),
    "enable": lambda s, by: s.enable_user("viewer@example.org", by),
    "set_password": lambda s, by: s.set_password("viewer@example.org", "another long passphrase", by),
    "unlock": lambda s, by: s.unlock_user("viewer@example.org", by),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize(("by", "ok", "message"), MANAGERS, ids=[str(m[0])[:40] for m in MANAGERS])
def test_only_admins_manage_accounts_and_events_name_them(accounts, operation, by, ok, message):
    before = (accounts.list_users(), len(accounts.events()))
    if ok:
        OPERATIONS[operation](accounts, by)
        event = accounts.events()[0]
        assert event["user_name"] == (by.email if isinstance(by, User) else by)
        assert event["action"].startswith("user ")
    else:
        with pytest.raises(PermissionDenied, match=message):
            OPERATIONS[operation](accounts, by)
        assert (accounts.list_users(), len(accounts.events())) == before


def test_a_disabled_admin_manages_nothing(accounts):
    accounts.add_user("admin2@example.org", "admin", password=PASSWORD)
    accounts.disable_user("admin2@example.org", ADMIN)
    with pytest.raises(PermissionDenied, match="disabled"):
        accounts.enable_user("viewer@example.org", User("admin2@example.org", "admin"))


def test_disable_and_enable_round_trip(accounts):
    accounts.disable_user("chair-a@example.org", ADMIN)
    assert accounts.user("chair-a@example.org").disabled
    accounts.enable_user("chair-a@example.org", ADMIN)
    assert not accounts.user("chair-a@example.org").disabled
    assert accounts.sign_in("chair-a@example.org", PASSWORD).email == "chair-a@example.org"


def test_the_last_enabled_admin_cannot_be_disabled(accounts):
    with pytest.raises(auth.CspdashError, match="last enabled admin"):
        accounts.disable_user("admin@example.org", ADMIN)
    accounts.add_user("admin2@example.org", "admin", password=PASSWORD, by=ADMIN)
    accounts.disable_user("admin@example.org", User("admin2@example.org", "admin"))
    assert accounts.user("admin@example.org").disabled


def test_unlock_ends_a_lock_out_and_keeps_the_password(accounts):
    for _ in range(auth.MAX_FAILED_SIGNINS):
        with pytest.raises(auth.SignInError):
            accounts.sign_in("chair-a@example.org", "wrong password here")
    with pytest.raises(auth.SignInError, match="too many"):
        accounts.sign_in("chair-a@example.org", PASSWORD)
    accounts.unlock_user("chair-a@example.org", ADMIN)
    assert accounts.sign_in("chair-a@example.org", PASSWORD).email == "chair-a@example.org"


def test_the_first_account_made_in_open_mode_is_an_admin(store):
    opener = store.actor("first@example.org")
    with pytest.raises(PermissionDenied, match="must be an admin"):
        store.add_user("first@example.org", "viewer", password=PASSWORD, by=opener)
    assert not store.has_accounts()
    store.add_user("first@example.org", "admin", password=PASSWORD, by=opener)
    assert store.events()[0]["user_name"] == "first@example.org"
    with pytest.raises(PermissionDenied, match="sign in again"):  # open mode is over for that session
        store.add_user("second@example.org", "admin", password=PASSWORD, by=opener)


def test_account_stamp_changes_with_the_password(accounts):
    user, stamp = accounts.account_stamp("Chair-A@example.org")
    assert user.email == "chair-a@example.org"
    accounts.set_password("chair-a@example.org", "a brand new passphrase", ADMIN)
    assert accounts.account_stamp("chair-a@example.org")[1] != stamp
    assert accounts.account_stamp("nobody@example.org") is None


def test_cli_enable_and_unlock(tmp_path, capsys, monkeypatch):
    db = str(tmp_path / "csp.duckdb")
    base = ["--db", db, "--config", str(CONFIG), "user"]
    assert main([*base[:-1], "init"]) == 0  # user add never makes a database
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main([*base, "add", "admin@example.org", "--role", "admin", "--password-stdin"]) == 0
    assert main([*base, "add", "v@example.org", "--role", "viewer", "--no-password"]) == 0
    assert main([*base, "disable", "v@example.org"]) == 0
    assert main([*base, "enable", "v@example.org"]) == 0
    assert main([*base, "unlock", "v@example.org"]) == 0
    assert main([*base, "disable", "admin@example.org"]) == 1
    captured = capsys.readouterr()
    assert "re-enabled v@example.org" in captured.out and "unlocked v@example.org" in captured.out
    assert "last enabled admin" in captured.err
    store = Store(db, load_catalogue(CONFIG))
    try:
        assert not store.user("v@example.org").disabled
        assert [e["action"] for e in store.events()[:3]] == ["user unlock", "user enable", "user disable"]
    finally:
        store.close()
