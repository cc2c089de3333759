"""Tests for the committed demo data (data/demo/) and cspdash.demo_data; they never read ../shared."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from scipy.stats import binomtest

from cspdash import demo_data

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
CATALOGUE = ROOT / "indicators.yaml"
LATEST = "2025/26 Q3"
MB2 = 2 * 1024 * 1024

with open(CATALOGUE, encoding="utf-8") as _fh:
    INDICATORS = {i["id"]: i for i in yaml.safe_load(_fh)["indicators"]}
SYNTHETIC = {k: v for k, v in INDICATORS.items() if k in demo_data.SYNTHETIC_INDICATORS}
SUBGROUPS = sorted({i["owner"] for i in SYNTHETIC.values()})
DERIVED = {"b5-vawg-offences.csv": ("B5", "2014-01", "2026-02"), "d9-knife-crime.csv": ("D9", "2022-03", "2026-02")}
QUARTER = re.compile(r"^(\d{4})/(\d{2}) Q([1-4])$")
YEAR = re.compile(r"^(\d{4})/(\d{2})$")


def read(name: str) -> pd.DataFrame:
    """A committed demo CSV, every cell as text ('' when empty)."""
    return pd.read_csv(DEMO / name, dtype=str, keep_default_na=False)


def header(name: str) -> list[str]:
    with open(DEMO / name, encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh))


def synthetic_frame() -> pd.DataFrame:
    return pd.concat([read(demo_data.synthetic_filename(s)) for s in SUBGROUPS], ignore_index=True)


def quarter_key(label: str) -> tuple[int, int]:
    m = QUARTER.match(label)
    assert m, label
    fy, yy, q = int(m[1]), int(m[2]), int(m[3])
    assert (fy + 1) % 100 == yy, label
    return fy, q


# ------------------------------------------------------------------------------------------------
# Derived real-data returns
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(DERIVED))
def test_derived_returns_parse_with_borough_months(name: str) -> None:
    indicator, first, last = DERIVED[name]
    assert header(name) == demo_data.DERIVED_COLUMNS
    df = read(name)
    assert set(df["indicator"]) == {indicator}
    assert df["period"].str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").all()
    assert (df["period"].min(), df["period"].max()) == (first, last)
    assert set(df["area"]) == set(demo_data.LONDON_BOROUGHS)
    assert len(demo_data.LONDON_BOROUGHS) == 32
    assert not df.duplicated(["indicator", "period", "area"]).any()
    assert df["value"].str.fullmatch(r"\d+").all()
    months = df["period"].nunique()
    assert len(df) == 32 * months  # every borough has every month
    assert (df["commentary"] == "").all()


def test_derived_values_are_plausible_for_tower_hamlets() -> None:
    vawg, knife = read("b5-vawg-offences.csv"), read("d9-knife-crime.csv")
    th_vawg = vawg[vawg["area"] == "Tower Hamlets"]["value"].astype(int)
    th_knife = knife[knife["area"] == "Tower Hamlets"]["value"].astype(int)
    assert th_vawg.min() > 150 and th_vawg.max() < 800
    assert th_knife.min() > 10 and th_knife.max() < 150


# ------------------------------------------------------------------------------------------------
# Synthetic returns
# ------------------------------------------------------------------------------------------------

def test_one_synthetic_return_per_subgroup_with_every_synthetic_indicator() -> None:
    files = {p.name for p in DEMO.glob("synthetic-*-return.csv")}
    assert files == {demo_data.synthetic_filename(s) for s in SUBGROUPS}
    for s in SUBGROUPS:
        name = demo_data.synthetic_filename(s)
        assert header(name) == demo_data.RETURN_COLUMNS
        ids = set(read(name)["indicator"])
        assert ids == {i for i, ind in SYNTHETIC.items() if ind["owner"] == s}, name


def test_synthetic_periods_cover_the_range_without_duplicates() -> None:
    df = synthetic_frame()
    assert not df.duplicated(["indicator", "period"]).any()
    quarters = [demo_data.quarter_label(fy, q) for fy in range(2017, 2026) for q in range(1, 5)][:35]
    assert quarters[0] == "2017/18 Q1" and quarters[-1] == LATEST
    years = [f"{fy}/{(fy + 1) % 100:02d}" for fy in range(2017, 2026)]
    for ind_id, ind in SYNTHETIC.items():
        periods = list(df[df["indicator"] == ind_id]["period"])
        if ind["frequency"] == "annual":
            assert all(YEAR.match(p) for p in periods)
            assert periods == years, ind_id
        else:
            assert all(quarter_key(p) for p in periods)
            want = quarters[:-1] if ind_id == demo_data.MISSING_LATEST else quarters
            assert periods == want, ind_id


def test_exactly_one_indicator_lacks_the_latest_return() -> None:
    df = synthetic_frame()
    quarterly = {i for i, ind in SYNTHETIC.items() if ind["frequency"] != "annual"}
    have = set(df[df["period"] == LATEST]["indicator"])
    assert quarterly - have == {"A2"}


def test_every_synthetic_row_is_labelled() -> None:
    df = pd.concat([synthetic_frame(), read(demo_data.RESTATEMENT_FILE)], ignore_index=True)
    assert df["commentary"].str.startswith("SYNTHETIC demo figure").all()
    latest = df[df["period"].isin([LATEST, "2025/26"])]
    assert (latest["commentary"].str.len() > len("SYNTHETIC demo figure. ")).all()


def test_counts_have_values_and_percents_have_numerator_and_denominator() -> None:
    df = synthetic_frame()
    for row in df.itertuples():
        if SYNTHETIC[row.indicator]["unit"] == "percent":
            assert row.value == "", row
            num, den = int(row.numerator), int(row.denominator)
            assert 0 <= num <= den and den > 0, row
        else:
            assert row.numerator == "" and row.denominator == "", row
            assert int(row.value) >= 0, row


@pytest.mark.parametrize(("ind_id", "lo", "hi"), [
    ("A1", 3900, 4700), ("A2", 150, 250), ("A3", 10, 30), ("B1", 15, 35), ("B2", 1200, 1500), ("B4", 60, 110),
    ("C2", 150, 250), ("C4", 20, 40), ("D1", 0, 2), ("D4", 20, 45), ("D6", 2, 8), ("D7", 2, 8), ("D11", 2, 12),
])
def test_synthetic_counts_are_plausible(ind_id: str, lo: int, hi: int) -> None:
    df = synthetic_frame()
    values = df[df["indicator"] == ind_id]["value"].astype(int)
    assert lo <= values.min() and values.max() <= hi


@pytest.mark.parametrize(("ind_id", "lo", "hi", "dlo", "dhi"), [
    ("C1", 74, 93, 40, 80), ("C5", 79, 89, 1000, 1200), ("D2", 40, 95, 20, 45), ("D3", 25, 70, 20, 45),
    ("D5", 24, 46, 60, 100),
])
def test_synthetic_percents_are_plausible(ind_id: str, lo: float, hi: float, dlo: int, dhi: int) -> None:
    df = synthetic_frame()
    rows = df[df["indicator"] == ind_id]
    num, den = rows["numerator"].astype(int), rows["denominator"].astype(int)
    pct = num / den * 100
    assert lo <= pct.min() and pct.max() <= hi
    assert dlo <= den.min() and den.max() <= dhi


def test_restatement_changes_a1_2025_26_q2_by_about_3_percent() -> None:
    assert header(demo_data.RESTATEMENT_FILE) == demo_data.RETURN_COLUMNS
    new = read(demo_data.RESTATEMENT_FILE)
    assert list(new["indicator"]) == ["A1"] and list(new["period"]) == ["2025/26 Q2"]
    assert new["commentary"].iloc[0] == "SYNTHETIC demo figure. Restated: late-recorded calls added."
    old = read("synthetic-asb-return.csv")
    before = int(old[(old["indicator"] == "A1") & (old["period"] == "2025/26 Q2")]["value"].iloc[0])
    change = int(new["value"].iloc[0]) / before - 1
    assert 0.02 <= abs(change) <= 0.04


def test_build_synthetic_is_deterministic_and_matches_the_committed_files() -> None:
    first, second = demo_data.build_synthetic(CATALOGUE), demo_data.build_synthetic(CATALOGUE)
    assert list(first) == list(second)
    for s in first:
        pd.testing.assert_frame_equal(first[s], second[s])
        committed = (DEMO / demo_data.synthetic_filename(s)).read_text(encoding="utf-8")
        assert demo_data.to_csv_text(first[s]) == committed, f"{s}: run python -m cspdash.demo_data --synthetic-only"
    restated = (DEMO / demo_data.RESTATEMENT_FILE).read_text(encoding="utf-8")
    assert demo_data.to_csv_text(demo_data.build_restatement(first)) == restated


# ------------------------------------------------------------------------------------------------
# The latest quarter shows green, amber and red under the change rule
# ------------------------------------------------------------------------------------------------

def change_rag(direction: str, value: float, comparator: float, goal: float, tolerance: float) -> str:
    """The catalogue's ``change`` rule: % change on the comparator against the % wanted, tolerance in points."""
    change = (value - comparator) / comparator * 100
    sign = 1 if direction == "increase" else -1
    gap = sign * (change - goal)
    return "green" if gap >= 0 else "amber" if gap >= -tolerance else "red"


def latest_change_statuses() -> dict[str, tuple[str, int, int]]:
    """(rag, latest, same quarter last year) of each synthetic count indicator with a same-quarter change target."""
    df = synthetic_frame()
    out = {}
    for ind_id, ind in SYNTHETIC.items():
        t = ind["target"]
        if ind["unit"] != "count" or t["type"] != "change" or t.get("baseline") != "same_quarter_last_year":
            continue
        rows = df[df["indicator"] == ind_id].set_index("period")["value"]
        if LATEST not in rows.index:
            continue
        now, before = int(rows[LATEST]), int(rows["2024/25 Q3"])
        out[ind_id] = (change_rag(ind["direction"], now, before, t["value"], t["tolerance"]), now, before)
    return out


def test_change_rule_reimplementation() -> None:
    assert change_rag("decrease", 112, 100, -5, 5) == "red"
    assert change_rag("decrease", 98, 100, -5, 5) == "amber"
    assert change_rag("decrease", 95, 100, -5, 5) == "green"
    assert change_rag("increase", 105, 100, 5, 5) == "green"
    assert change_rag("increase", 100, 100, 5, 5) == "amber"
    assert change_rag("increase", 99, 100, 5, 5) == "red"


def test_latest_quarter_shows_green_amber_and_red() -> None:
    statuses = latest_change_statuses()
    assert {rag for rag, _, _ in statuses.values()} >= {"green", "amber", "red"}
    assert statuses["A1"][0] == "red" and statuses["C2"][0] == "red"
    assert statuses["B2"][0] == "green"
    assert statuses["B4"][0] == "amber" and statuses["A3"][0] == "amber"


def test_latest_green_and_red_are_big_significant_changes() -> None:
    """The green and red examples must survive a small-numbers / chance rule (exact Poisson test, p < 0.05)."""
    for ind_id in ("A1", "B2", "C2"):
        _, now, before = latest_change_statuses()[ind_id]
        assert now >= 20 and before >= 20
        assert binomtest(now, now + before, 0.5).pvalue < 0.01, ind_id


# ------------------------------------------------------------------------------------------------
# Manifest, README and sizes
# ------------------------------------------------------------------------------------------------

def test_manifest_lists_existing_files_in_order() -> None:
    items = yaml.safe_load((DEMO / "manifest.yaml").read_text(encoding="utf-8"))
    assert isinstance(items, list)
    for item in items:
        synthetic = item["file"].startswith("synthetic-")
        assert set(item) == {"file", "dataset", "user", "note"} | ({"synthetic"} if synthetic else set()), item
        assert item.get("synthetic", False) is synthetic  # the demo's invented returns are marked on upload
        assert (DEMO / item["file"]).is_file(), item["file"]
        assert item["dataset"] in ("borough_crime", "population", None)
        assert item["note"] and "\n" not in item["note"]
    files = [i["file"] for i in items]
    assert len(files) == len(set(files))
    subgroup_files = [demo_data.synthetic_filename(s) for s in dict.fromkeys(i["owner"] for i in SYNTHETIC.values())]
    assert files == [
        # the population first (the denominators of area comparisons); the older CSV release before the newer
        # parquet, so the newest figures are the current ones
        demo_data.POPULATION_FILE, "recorded-crime-borough-historical.parquet", "mps-borough-level-crime-2024-01-to-2025-12.csv",
        "recorded-crime-borough.parquet", "b5-vawg-offences.csv", "d9-knife-crime.csv", *subgroup_files,
        "synthetic-asb-restatement.csv",
    ]
    for item in items:
        if item["dataset"] == "borough_crime":
            assert item["file"] in demo_data.REAL_FILES and item["user"] == "analyst@demo.example"
        if item["file"].startswith("synthetic-") and item["file"].endswith("-return.csv"):
            subgroup = item["file"].removeprefix("synthetic-").removesuffix("-return.csv")
            assert item["user"] == f"chair-{subgroup}@demo.example"


def test_readme_states_source_licence_and_synthetic_warning() -> None:
    text = (DEMO / "README.md").read_text(encoding="utf-8")
    assert "Contains public sector information licensed under the Open Government Licence v3.0." in text
    for page in ("MPS Borough Level Crime", "MPS Monthly Crime Dashboard Data", "MPS VAWG offences"):
        assert page in text
    assert "python -m cspdash.demo_data" in text
    assert re.search(r"\*\*[^*]*invented figures for demonstration only[^*]*\*\*", text)
    for p in DEMO.iterdir():
        if p.name != "README.md" and not p.name.startswith("synthetic-"):
            assert f"`{p.name}`" in text, p.name


def test_demo_files_are_small() -> None:
    for p in DEMO.iterdir():
        assert p.stat().st_size < MB2, p.name


def test_demo_data_module_does_no_work_at_import_and_avoids_streamlit() -> None:
    source = (ROOT / "cspdash" / "demo_data.py").read_text(encoding="utf-8")
    assert "streamlit" not in source
    assert 'if __name__ == "__main__":' in source
