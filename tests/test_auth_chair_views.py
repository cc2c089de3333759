"""What a signed-in chair is offered: their subgroups' templates, and a template quarter that has ended and is owed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from cspdash import views
from cspdash.auth import User
from cspdash.config import load_catalogue
from cspdash.ingest import SourceFile
from cspdash.store import Store

CONFIG = Path(__file__).resolve().parents[1] / "indicators.yaml"
FEB_2026 = date(2026, 2, 1)  # in 2025/26 Q4: the last ended quarter is 2025/26 Q3
LAST_NINE = ["2025/26 Q3", "2025/26 Q2", "2025/26 Q1", "2024/25 Q4", "2024/25 Q3", "2024/25 Q2", "2024/25 Q1",
             "2023/24 Q4", "2023/24 Q3"]


@pytest.fixture
def store():
    s = Store(":memory:", load_catalogue(CONFIG))
    yield s
    s.close()


def returns(store: Store, rows: list[tuple[str, str]]) -> None:
    body = "indicator,period,value\n" + "".join(f"{i},{p},10\n" for i, p in rows)
    store.import_files([SourceFile("r.csv", data=body.encode())], "analyst@example.org")


# (case, figures stored as (indicator, period), subgroup, expected default)
DEFAULTS = [
    ("nothing stored: the last ended quarter", [], "asb", "2025/26 Q3"),
    ("asb's Q3 in full: the quarter before is owed", [("A1", "2025/26 Q3"), ("A2", "2025/26 Q3")], "asb",
     "2025/26 Q2"),
    ("one asb figure missing: Q3 still owed", [("A1", "2025/26 Q3")], "asb", "2025/26 Q3"),
    ("another subgroup's figures do not count", [("A1", "2025/26 Q3"), ("A2", "2025/26 Q3")], "hate", "2025/26 Q3"),
    ("every quarter returned: fall back to the last ended",
     [(i, q) for q in LAST_NINE for i in ("A1", "A2")], "asb", "2025/26 Q3"),
    ("an annual figure is owed only once its year has ended", [], "cohesion", "2024/25 Q4"),
    ("2024/25's annual figure given: 2023/24's is owed", [("C5", "2024/25")], "cohesion", "2023/24 Q4"),
    ("both ended years given: nothing ended is owed", [("C5", "2024/25"), ("C5", "2023/24")], "cohesion",
     "2025/26 Q3"),
]


@pytest.mark.parametrize(("rows", "subgroup", "expected"), [c[1:] for c in DEFAULTS], ids=[c[0] for c in DEFAULTS])
def test_template_quarter_default(store, rows, subgroup, expected):
    if rows:
        returns(store, rows)
    assert views.template_quarter_default(store, subgroup, FEB_2026) == expected


@pytest.mark.parametrize(("today", "latest", "expected"), [
    (FEB_2026, None, LAST_NINE),
    (FEB_2026, "2025/26 Q3", LAST_NINE),  # the quarter after (Q4) has not ended: not offered
    (date(2026, 4, 1), "2025/26 Q3", ["2025/26 Q4", *LAST_NINE[:8]]),
    (FEB_2026, "2021/22 Q1", [*LAST_NINE, "2021/22 Q2"]),  # the return most likely due, though long ago
])
def test_template_quarters_are_ended(store, today, latest, expected):
    if latest:
        returns(store, [("A1", latest)])
    assert views.template_quarters(store, today) == expected


@pytest.mark.parametrize(("user", "expected"), [
    (None, "all"),
    (User("a@example.org", "admin"), "all"),
    (User("a@example.org", "admin", open_mode=True), "all"),
    (User("v@example.org", "viewer"), "all"),
    (User("c@example.org", "chair", ("hate",)), ["hate"]),
    (User("c@example.org", "chair", ("prevent", "hate")), ["hate", "prevent"]),  # catalogue order
])
def test_template_subgroups(user, expected):
    cat = load_catalogue(CONFIG)
    offered = views.template_subgroups(cat, user)
    assert list(offered) == ([g.id for g in cat.subgroups] if expected == "all" else expected)
    assert all(offered[g.id] == g.name for g in cat.subgroups if g.id in offered)


def test_accounts_frame_says_state_in_words():
    users = [
        {"email": "a@example.org", "role": "admin", "subgroups": [], "disabled": False, "locked": False,
         "local_password": True, "last_signin_at": "2026-12-07 10:41:00", "created_by": "cli (cli)"},
        {"email": "c@example.org", "role": "chair", "subgroups": ["asb", "hate"], "disabled": False, "locked": True,
         "local_password": True, "last_signin_at": None, "created_by": "a@example.org"},
        {"email": "d@example.org", "role": "viewer", "subgroups": [], "disabled": True, "locked": True,
         "local_password": False, "last_signin_at": None, "created_by": "a@example.org"},
    ]
    frame = views.accounts_frame(users)
    assert frame["State"].tolist() == ["✅ Active", "🔒 Locked out", "⛔ Disabled"]
    assert frame["Subgroups"].tolist() == [views.NONE, "asb, hate", views.NONE]
    assert frame["Sign-in"].tolist() == ["password", "password", "identity provider"]
    assert frame["Last signed in"].tolist() == ["07 Dec 2026 10:41 UTC", views.NONE, views.NONE]
    assert views.accounts_frame([]).columns.tolist() == frame.columns.tolist()
