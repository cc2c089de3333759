"""Hardening: the Streamlit settings, pinned dependencies, no committed secrets, no data rendered as HTML."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from reliability_helpers import record
from tests_config import ROOT

from cspdash.ingest import MAX_DATASET_BYTES, MAX_RETURN_BYTES

CONFIG_TOML = ROOT / ".streamlit" / "config.toml"


@pytest.fixture(scope="module")
def streamlit_config() -> dict:
    return tomllib.loads(CONFIG_TOML.read_text(encoding="utf-8"))


def test_errors_are_shown_without_details(streamlit_config):
    # "none": a user sees cspdash's own message in words, never a stack trace or an exception's type and text.
    assert streamlit_config["client"]["showErrorDetails"] in ("none", False)


def test_xsrf_protection_is_on_and_cors_left_enabled(streamlit_config):
    assert streamlit_config["server"]["enableXsrfProtection"] is True
    assert streamlit_config["server"]["enableCORS"] is True  # disabling CORS would also switch XSRF protection off


def test_usage_statistics_are_not_sent(streamlit_config):
    assert streamlit_config["browser"]["gatherUsageStats"] is False


def test_uploads_are_capped_below_a_300_mb_file_and_the_dataset_limit(streamlit_config):
    mb = streamlit_config["server"]["maxUploadSize"]
    assert isinstance(mb, int) and 0 < mb < 300
    assert mb * 2**20 <= MAX_DATASET_BYTES and mb * 2**20 > MAX_RETURN_BYTES


def test_no_secrets_file_or_unknown_sections_in_the_config(streamlit_config):
    assert set(streamlit_config) <= {"client", "server", "browser", "theme", "runner", "logger"}
    assert not any(re.search(r"secret|password|token", k, re.I) for s in streamlit_config.values() for k in s)


# --- dependencies ----------------------------------------------------------------------------------------------------

_PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][A-Za-z0-9.+!-]*$")


def _requirements(path: Path) -> dict[str, str]:
    pins = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        spec = line.split("#", 1)[0].strip()
        if not spec:
            continue
        assert _PIN.match(spec), f"{path.name}, line {n}: {spec!r} is not pinned as name==version"
        name, version = spec.split("==")
        pins[name.lower().replace("_", "-")] = version
    return pins


def test_every_dependency_is_pinned_and_locked_at_the_same_version():
    direct, locked = _requirements(ROOT / "requirements.txt"), _requirements(ROOT / "requirements.lock")
    assert direct and locked
    for name, version in direct.items():
        assert locked.get(name) == version, f"{name}=={version} in requirements.txt, {locked.get(name)} in the lock"


# --- no secrets in the repository --------------------------------------------------------------------------------------

SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY( BLOCK)?-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{40}", re.I),
    "Azure storage key": re.compile(r"AccountKey=[A-Za-z0-9+/=]{40,}"),
    "Azure/Entra client secret": re.compile(r"\b[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    "client_secret with a value": re.compile(r"client_secret\s*[=:]\s*['\"][^'\"\s.<>]{8,}['\"]", re.I),
    "cookie_secret with a value": re.compile(r"cookie_secret\s*[=:]\s*['\"][^'\"\s.<>]{8,}['\"]", re.I),
    "argon2 password hash": re.compile(r"\$argon2id?\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{16,}\$[A-Za-z0-9+/]{20,}"),
}
#: Passwords written in configuration files: ``password: hunter2`` / ``password = "hunter2"``.
CONFIG_PASSWORD = re.compile(r"^\s*[\w.-]*(?:password|passwd|secret|api_?key|token)[\w.-]*\s*[=:]\s*['\"]?(?!['\"]?\s*$)"
                             r"(?!\$\{)[^\s'\"#]{4,}", re.I | re.M)
CONFIG_SUFFIXES = (".yaml", ".yml", ".toml", ".ini", ".cfg", ".env", ".json")
#: Files allowed to hold these patterns: this test (the patterns themselves) and the accounts' dummy hash, which is
#: hashed against on a sign-in with an unknown e-mail so the timing gives nothing away; it hashes no password.
ALLOWED = {("tests/test_reliability_hardening.py", "*"), ("cspdash/accounts.py", "argon2 password hash")}


SCAN_BYTES = 2**20  # of each file: secrets sit in small text files, not in the middle of a large data extract


def repository_files() -> list[str]:
    """Files git tracks, plus new files not ignored (what the next commit could hold)."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return sorted({f for f in out.decode().split("\0") if f and (ROOT / f).is_file()})


def scan(name: str, text: str) -> list[str]:
    """The secrets found in one file's text, as 'file: kind (line N)'."""
    found = []
    for kind, pattern in SECRET_PATTERNS.items():
        if (name, kind) in ALLOWED or (name, "*") in ALLOWED:
            continue
        for m in pattern.finditer(text):
            found.append(f"{name}: {kind} (line {text.count(chr(10), 0, m.start()) + 1})")
    if name.endswith(CONFIG_SUFFIXES) and (name, "*") not in ALLOWED:
        for m in CONFIG_PASSWORD.finditer(text):
            found.append(f"{name}: a password or secret in a configuration file (line {text.count(chr(10), 0, m.start()) + 1})")
    return found


def test_no_secret_is_committed():
    files = repository_files()
    assert "tests/test_reliability_hardening.py" in files or len(files) > 50
    problems = [f"{f}: a Streamlit secrets file must never be committed" for f in files
                if f.endswith("secrets.toml") or Path(f).name in (".env", "id_rsa", "id_ed25519")]
    for f in files:
        with (ROOT / f).open("rb") as fh:
            data = fh.read(SCAN_BYTES)
        if b"\0" in data[:8192]:
            continue  # binary (parquet): no text secret
        problems += scan(f, data.decode("utf-8", "replace"))
    assert not problems, "\n".join(problems)
    record("hardening", files_scanned=len(files), secrets_found=len(problems))


def test_the_secrets_file_is_ignored_by_git():
    assert ".streamlit/secrets.toml" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(("name", "text", "found"), [
    ("x.py", "-----BEGIN RSA PRIVATE KEY-----\nMIIE...", True),
    ("x.py", "-----BEGIN OPENSSH PRIVATE KEY-----", True),
    ("x.md", "key AKIA" + "ABCDEFGHIJKLMNOP here", True),
    ("x.cfg", "aws_secret_access_key = " + "a" * 40, True),
    ("x.txt", "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=" + "A" * 86 + "==", True),
    (".streamlit/x.toml", 'client_secret = "' + "s3cr3tValue" + '"', True),
    ("README.md", "an `[auth]` section with `client_secret`", False),
    ("docs/x.md", 'client_secret = "..."', False),
    ("docs/x.md", 'client_secret = "<your secret>"', False),
    ("indicators.yaml", "password: hunter22", True),
    ("config.toml", 'db_password = "hunter22"', True),
    ("config.toml", "password = ", False),
    ("config.toml", 'password = "${DB_PASSWORD}"', False),
    ("x.py", "token = " + "ghp_" + "a" * 36, True),
])
def test_the_secret_scan_finds_what_it_should(name, text, found):
    assert bool(scan(name, text)) == found, scan(name, text)


# --- data is never rendered as HTML -----------------------------------------------------------------------------------

def test_only_static_css_is_ever_rendered_as_html():
    """Every ``unsafe_allow_html=True`` in the app renders one of cspdash.ui's CSS constants, never data."""
    uses = []
    for path in [ROOT / "dashboard.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "cspdash").glob("*.py"))]:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if "unsafe_allow_html=True" in line:
                uses.append((path.relative_to(ROOT).as_posix(), n, line.strip()))
    assert uses
    for name, n, line in uses:
        assert re.search(r"st\.markdown\(ui\.(BASE_CSS|MEETING_CSS), unsafe_allow_html=True\)", line), (name, n, line)
    html = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8").count("st.html(")
            + p.read_text(encoding="utf-8").count("components.html")
            for p in [ROOT / "dashboard.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "cspdash").glob("*.py")]}
    # The one exception: the sign-in cookie's static script, whose only value is a token checked against
    # _COOKIE_VALUE (base64url, digits, hex and dots) just before it is written.
    assert {k: v for k, v in html.items() if v} == {"cspdash/ui.py": 1}
    ui_source = (ROOT / "cspdash" / "ui.py").read_text(encoding="utf-8")
    writer = ui_source[ui_source.index("def _write_cookie("):ui_source.index("def account_panel(")]
    assert "st.html(" in writer and "_COOKIE_VALUE.fullmatch(token)" in writer
