"""Honest proxies and provenance (issue 12, item 5): where a target came from and who agreed it, the plan's own
baseline figures, provisional police months and the synthetic flag on the upload.

Everything goes through the real CLI (``import`` then ``status --format json``) on real DuckDB files.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from cspdash.cli import main
from cspdash.config import NOT_RECORDED, load_catalogue, parse_catalogue
from cspdash.errors import ConfigError
from cspdash.periods import Period
from cspdash.store import Store

ROOT = Path(__file__).resolve().parents[1]

CATALOGUE = {
    "partnership": {"name": "Test Partnership", "area": "Tower Hamlets"},
    "priorities": [{"id": "A", "title": "ASB"}],
    "subgroups": [{"id": "asb", "name": "ASB Operations Group", "priority": "A"}],
    "datasets": {"borough_crime": {"format": "mps_borough"}},
    "indicators": [
        {"id": "A1", "priority": "A", "owner": "asb", "title": "ASB calls", "unit": "count", "frequency": "quarterly",
         "direction": "decrease", "small_numbers": 0,
         "target": {"type": "change", "baseline": "same_quarter_last_year", "value": -5, "tolerance": 5,
                    "baseline_figures": {"2015/16": 16320},
                    "source": "CSP Plan 2017-21, Priority A (p. 9)",
                    "agreed": {"by": "CSP Executive", "date": "2017-07-18"}}},
        {"id": "P1", "priority": "A", "owner": "asb", "title": "Satisfied", "unit": "percent",
         "frequency": "quarterly", "direction": "increase", "small_numbers": 0,
         "target": {"type": "change", "value": 5, "tolerance": 5, "baseline_figures": {"2015/16": 80}}},
        {"id": "V1", "priority": "A", "owner": "asb", "title": "Violence with injury", "unit": "count",
         "frequency": "monthly", "direction": "decrease",
         "target": {"type": "change", "value": -5, "tolerance": 5},
         "measure": {"dataset": "borough_crime", "aggregate": "sum(value)",
                     "where": "minor_text = 'VIOLENCE WITH INJURY'", "area": "borough_name"}},
    ],
}


def run(capsys, *argv: object) -> tuple[int, str, str]:
    """Run the CLI in this process; (exit code, stdout, stderr). A database named with ``--db`` that does not exist
    yet is made first with ``init``, as an analyst would (no command but init and demo makes one)."""
    args = [str(a) for a in argv]
    if "--db" in args and not Path(args[args.index("--db") + 1]).exists():
        assert main(["--db", args[args.index("--db") + 1], "init"]) == 0
        capsys.readouterr()
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def write_catalogue(path: Path, **partnership) -> Path:
    data = copy.deepcopy(CATALOGUE)
    data["partnership"].update(partnership)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write_return(path: Path, rows: list[tuple]) -> Path:
    lines = ["indicator,period,value,numerator,denominator,commentary"]
    lines += [",".join("" if v is None else str(v) for v in r) + "," for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_mps(path: Path, months: list[Period], value: int = 100) -> Path:
    """An MPS borough file (the London Datastore layout) with one violence row for Tower Hamlets and Newham."""
    head = ["MajorText", "MinorText", "BoroughName", *[m.label.replace("-", "") for m in months]]
    rows = [["VIOLENCE AGAINST THE PERSON", "VIOLENCE WITH INJURY", b, *[str(value)] * len(months)]
            for b in ("Tower Hamlets", "Newham")]
    path.write_text("\n".join(",".join(r) for r in [head, *rows]) + "\n", encoding="utf-8")
    return path


def status(capsys, db: Path, config: Path, period: str) -> dict[str, dict]:
    code, out, err = run(capsys, "--db", db, "--config", config, "status", "--period", period, "--format", "json")
    assert code == 0, err
    return {r["indicator"]: r for r in json.loads(out)}


# --- catalogue validation --------------------------------------------------------------------------------------

def _a1(d: dict) -> dict:
    return d["indicators"][0]


def _target(**kw):
    return lambda d: _a1(d)["target"].update(kw)


BAD = [
    ("source-not-text", _target(source=12), ["indicators[A1].target.source: expected text, got 12; put it in quotes"]),
    ("agreed-not-a-mapping", _target(agreed="CSP Board"),
     ["indicators[A1].target.agreed: expected a mapping with keys by, date, got 'CSP Board'"]),
    ("agreed-without-by", _target(agreed={"date": "2017-07-18"}), ["indicators[A1].target.agreed.by: required; add it"]),
    ("agreed-bad-date", _target(agreed={"by": "CSP Board", "date": "18th July"}),
     ["indicators[A1].target.agreed.date: expected a date written YYYY-MM-DD, e.g. 2017-07-18, got '18th July'"]),
    ("agreed-on-read-as-true", _target(agreed={"by": "CSP Board", True: "2017-07-18"}),
     ["indicators[A1].target.agreed.on: write the date as `date: YYYY-MM-DD` (YAML reads the key `on` as true)"]),
    ("agreed-unknown-key", _target(agreed={"by": "CSP Board", "when": "2017"}),
     ["indicators[A1].target.agreed.when: unknown key; allowed keys: by, date"]),
    ("baseline-figures-not-a-mapping", _target(baseline_figures=[16320]),
     ["indicators[A1].target.baseline_figures: expected a mapping of period: figure, e.g. {2015/16: 16320}, got list"]),
    ("baseline-figures-a-month", _target(baseline_figures={"2016-03": 1000}),
     ["indicators[A1].target.baseline_figures[2016-03]: 2016-03 is a month; give a financial year such as 2015/16 "
      "or a quarter such as 2015/16 Q1"]),
    ("baseline-figures-not-a-period", _target(baseline_figures={"last year": 1000}),
     ["indicators[A1].target.baseline_figures[last year]: 'last year' is not a period this tool can read; accepted: "
      "quarters: 2017/18 Q1, 2017-18 Q1, FY2017/18 Q1, Q1 2017/18; financial years: 2017/18, FY2017/18; months: "
      "2017-04, 201704, Apr 2017, April 2017, 04/2017; dates: 30/06/2017 (dd/mm/yyyy) or 2017-06-30; write a "
      "financial year such as 2015/16"]),
    ("baseline-figures-quoted-number", _target(baseline_figures={"2015/16": "16320"}),
     ["indicators[A1].target.baseline_figures[2015/16]: expected a number of at least 0, got '16320'; "
      "remove the quotes"]),
    ("baseline-figures-overlap", _target(baseline_figures={"2015/16": 16320, "2015/16 Q2": 4000}),
     ["indicators[A1].target.baseline_figures[2015/16 Q2]: 2015/16 Q2 overlaps another period given; "
      "give each period once"]),
    ("baseline-figures-on-a-fixed-target", _target(type="fixed", value=10, baseline=None),
     ["indicators[A1].target.baseline_figures: not used by a target of type fixed; remove it"]),
    ("baseline-figures-with-fixed-baseline", _target(baseline="fixed", baseline_value=4000),
     ["indicators[A1].target.baseline_figures: not used with baseline: fixed (baseline_value is the comparator); "
      "remove one of them"]),
    ("annual-indicator-quarter-baseline", lambda d: _a1(d).update(
        frequency="annual", target={"type": "change", "value": -5, "baseline_figures": {"2015/16 Q1": 4000}}),
     ["indicators[A1].target.baseline_figures[2015/16 Q1]: 2015/16 Q1 is a quarter; give a financial year such as "
      "2015/16"]),
    ("synthetic-on-the-indicator", lambda d: _a1(d).update(synthetic=True),
     ["indicators[A1].synthetic: no longer a catalogue key: whether figures are synthetic is recorded on the upload "
      "(import --synthetic; docs/data.md); remove it"]),
    ("provisional-months-not-whole", lambda d: d["partnership"].update(provisional_months=2.5),
     ["partnership.provisional_months: expected a whole number of months from 0 to 24, got 2.5; 0 marks no month "
      "provisional"]),
]


@pytest.mark.parametrize(("name", "change", "problems"), BAD, ids=[b[0] for b in BAD])
def test_catalogue_refuses_bad_provenance_with_exact_messages(name, change, problems):
    data = copy.deepcopy(CATALOGUE)
    if name == "baseline-figures-on-a-fixed-target":
        _a1(data)["target"].pop("baseline")
    change(data)
    if _a1(data)["target"].get("baseline") is None:
        _a1(data)["target"].pop("baseline", None)
    with pytest.raises(ConfigError) as e:
        parse_catalogue(data)
    assert e.value.problems == problems


@pytest.mark.parametrize(
    ("target", "source", "agreed"),
    [
        ({"source": "CSP Plan 2017-21, p. 12", "agreed": {"by": "CSP Board", "date": "2017-06-15"}},
         "CSP Plan 2017-21, p. 12", "CSP Board, 15 Jun 2017"),
        ({"agreed": {"by": "CSP Board", "date": date(2017, 6, 15)}}, NOT_RECORDED, "CSP Board, 15 Jun 2017"),
        ({"agreed": {"by": "CSP Executive"}}, NOT_RECORDED, "CSP Executive"),
        ({}, NOT_RECORDED, NOT_RECORDED),
    ],
)
def test_target_source_and_agreement_in_words(target, source, agreed):
    data = copy.deepcopy(CATALOGUE)
    _a1(data)["target"] = {"type": "fixed", "value": 10, **target}
    t = parse_catalogue(data).indicator("A1").target
    assert (t.source_text, t.agreed_text) == (source, agreed)


def test_shipped_catalogue_records_the_plan_baseline_and_b3_says_what_it_counts():
    cat = load_catalogue(ROOT / "indicators.yaml")
    a1 = cat.indicator("A1").target
    assert [(p.label, v) for p, v in a1.baseline_figures] == [("2015/16", 16320.0)]
    assert "16,320" in a1.source and "p. 9" in a1.source
    for d in ("D6", "D7"):
        t = cat.indicator(d).target
        assert "CSP Plan 2017-21" in t.source and t.agreed_on == date(2017, 7, 18)
    b3 = cat.indicator("B3")
    assert "including domestic abuse" in b3.title and "proxy" in b3.title
    assert "domestic abuse included" in b3.definition and "no domestic-abuse flag" in b3.definition


def test_indicators_json_lists_target_provenance(capsys, tmp_path):
    config = write_catalogue(tmp_path / "c.yaml")
    code, out, _ = run(capsys, "--config", config, "indicators", "--format", "json")
    assert code == 0
    a1, p1 = json.loads(out)[:2]
    assert (a1["target_source"], a1["target_agreed"], a1["baseline_figures"]) == (
        "CSP Plan 2017-21, Priority A (p. 9)", {"by": "CSP Executive", "date": "2017-07-18"}, {"2015/16": 16320.0})
    assert (p1["target_source"], p1["target_agreed"]) == (None, None)
    assert "synthetic" not in a1


# --- the plan's baseline figures ---------------------------------------------------------------------------------

# (figures returned for A1, quarter rated, comparator, comparator_period, rag)
BASELINE_CASES = [
    # no 2016/17 figure: the plan's 2015/16 year, a quarter's share (16,320 / 4 = 4,080), stands in
    ([("2017/18 Q1", 3600)], "2017/18 Q1", 4080.0, "the 2015/16 plan baseline (16,320 a year, pro rata)", "green"),
    ([("2017/18 Q1", 4500)], "2017/18 Q1", 4080.0, "the 2015/16 plan baseline (16,320 a year, pro rata)", "red"),
    # a stored comparator always wins
    ([("2016/17 Q1", 4000), ("2017/18 Q1", 3600)], "2017/18 Q1", 4000.0, "2016/17 Q1", "green"),
    # a gap inside the data is missing data: no reaching back to the plan
    ([("2016/17 Q1", 4000), ("2017/18 Q2", 3600)], "2017/18 Q2", None, "2016/17 Q2", "no_data"),
    # a comparator before the first stored figure: the plan stands in even when later quarters are held
    ([("2016/17 Q4", 4000), ("2017/18 Q2", 3600)], "2017/18 Q2", 4080.0,
     "the 2015/16 plan baseline (16,320 a year, pro rata)", "green"),
]


@pytest.mark.parametrize(("rows", "quarter", "comparator", "label", "rag"), BASELINE_CASES)
def test_plan_baseline_is_the_comparator_before_the_data(capsys, tmp_path, rows, quarter, comparator, label, rag):
    config, db = write_catalogue(tmp_path / "c.yaml"), tmp_path / "csp.duckdb"
    ret = write_return(tmp_path / "a1.csv", [("A1", p, v, None, None) for p, v in rows])
    assert run(capsys, "--db", db, "--config", config, "import", ret, "--user", "t@example.org")[0] == 0
    s = status(capsys, db, config, quarter)["A1"]
    assert (s["comparator"], s["comparator_period"], s["rag"]) == (comparator, label, rag)
    if comparator is not None and "plan" in label:
        assert f"on {label} (4,080 → " in s["reason"]


def test_plan_baseline_is_judged_like_any_comparator(capsys, tmp_path):
    """4,200 against a 5% fall on 4,080 (a year of 16,320 ÷ 4), i.e. at most 3,876: the 95% range of 4,200
    (4,074-4,329) lies wholly above it, so the miss is beyond chance: RED. 3,900 is a fall of 4.4%, short of the 5%
    wanted by less than the tolerance: AMBER, within tolerance."""
    config = write_catalogue(tmp_path / "c.yaml")
    for value, rag, why in ((4200, "red", None), (3900, "amber", "within_tolerance")):
        db = tmp_path / f"csp-{value}.duckdb"
        ret = write_return(tmp_path / f"a1-{value}.csv", [("A1", "2017/18 Q1", value, None, None)])
        assert run(capsys, "--db", db, "--config", config, "import", ret, "--user", "t@example.org")[0] == 0
        s = status(capsys, db, config, "2017/18 Q1")["A1"]
        assert (s["rag"], s["amber_reason"], s["target"]) == (rag, why, pytest.approx(3876.0))


def test_plan_baseline_of_a_percentage_is_a_level_not_pro_rata(capsys, tmp_path):
    config, db = write_catalogue(tmp_path / "c.yaml"), tmp_path / "csp.duckdb"
    ret = write_return(tmp_path / "p1.csv", [("P1", "2017/18 Q1", None, 85, 100)])
    run(capsys, "--db", db, "--config", config, "import", ret, "--user", "t@example.org")
    s = status(capsys, db, config, "2017/18 Q1")["P1"]
    assert (s["comparator"], s["comparator_period"]) == (80.0, "the 2015/16 plan baseline (80.0%)")


def test_demo_a1_is_rated_in_the_plans_first_year(capsys, tmp_path_factory):
    from e2e_helpers import demo_copy

    db = demo_copy(tmp_path_factory, "provenance-demo")  # the session's demo (the `demo` command: test_cli_data.py)
    config = ROOT / "indicators.yaml"
    statuses = status(capsys, db, config, "2017/18 Q1")
    a1 = statuses["A1"]
    assert a1["rag"] in ("green", "amber", "red")
    assert a1["comparator"] == 4080.0
    assert a1["comparator_period"] == "the 2015/16 plan baseline (16,320 a year, pro rata)"
    # the demo's invented returns are marked synthetic on upload; the real borough data is not
    store = Store(db, load_catalogue(config))
    try:
        q = Period.quarter(2025, 3)
        assert store.synthetic_figure("A1", q) and not store.synthetic_figure("B3", q)
        assert not any(s.provisional for s in store.statuses(q))  # the demo's police months are long past
    finally:
        store.close()


# --- provisional months ------------------------------------------------------------------------------------------

def test_recent_police_months_are_provisional_until_reloaded(capsys, tmp_path):
    """The last ended quarter, loaded now, is provisional (with provisional_months: 6 every month of it is less than
    6 months old); loaded again under provisional_months: 0 (as if months later) the flag is cleared."""
    recent_cfg = write_catalogue(tmp_path / "recent.yaml", provisional_months=6)
    later_cfg = write_catalogue(tmp_path / "later.yaml", provisional_months=0)
    db = tmp_path / "csp.duckdb"
    quarter = Period.containing(date.today()).previous()
    old = write_mps(tmp_path / "old.csv", quarter.same_last_year().months(), value=100)
    new = write_mps(tmp_path / "new.csv", quarter.months(), value=90)
    for f in (old, new):
        assert run(capsys, "--db", db, "--config", recent_cfg, "import", f, "--dataset", "borough_crime",
                   "--user", "t@example.org")[0] == 0
    s = status(capsys, db, recent_cfg, quarter.label)["V1"]
    assert s["provisional"] is True and s["value"] == 270
    note = next(n for n in s["notes"] if n.startswith("Provisional: "))
    assert note.startswith(f"Provisional: includes {', '.join(m.display for m in quarter.months())}")
    assert "often revise" in note
    last_year = status(capsys, db, recent_cfg, quarter.same_last_year().label)["V1"]
    assert last_year["provisional"] is False  # a year old when loaded

    restated = write_mps(tmp_path / "restated.csv", quarter.months(), value=91)
    assert run(capsys, "--db", db, "--config", later_cfg, "import", restated, "--dataset", "borough_crime",
               "--user", "t@example.org")[0] == 0
    s = status(capsys, db, later_cfg, quarter.label)["V1"]
    assert (s["provisional"], s["value"]) == (False, 273)
    assert not any(n.startswith("Provisional") for n in s["notes"])


def test_provisional_default_is_three_months(capsys, tmp_path):
    config, db = write_catalogue(tmp_path / "c.yaml"), tmp_path / "csp.duckdb"
    this = Period.containing(date.today(), "month")
    months = [this.shift(-k) for k in (4, 3, 2, 1)]
    f = write_mps(tmp_path / "m.csv", months)
    run(capsys, "--db", db, "--config", config, "import", f, "--dataset", "borough_crime", "--user", "t@example.org")
    store = Store(db, load_catalogue(config))
    try:
        flags = {r["period"]: r["provisional"] for r in store.series("V1")}
    finally:
        store.close()
    assert flags == {months[0].label: False, months[1].label: False, months[2].label: True, months[3].label: True}


# --- synthetic on the upload ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("flag", [True, False])
def test_import_synthetic_marks_the_upload_and_its_figures(capsys, tmp_path, flag):
    config, db = write_catalogue(tmp_path / "c.yaml"), tmp_path / "csp.duckdb"
    ret = write_return(tmp_path / "a1.csv", [("A1", "2017/18 Q1", 3800, None, None)])
    args = ["--db", db, "--config", config, "import", ret, "--user", "t@example.org", "--format", "json"]
    code, out, _ = run(capsys, *args, *(["--synthetic"] if flag else []))
    assert code == 0 and json.loads(out)["uploads"][0]["synthetic"] is flag
    code, out, _ = run(capsys, "--db", db, "--config", config, "history", "--format", "json")
    assert json.loads(out)[0]["synthetic"] is flag
    store = Store(db, load_catalogue(config))
    try:
        assert store.synthetic_figure("A1", Period.quarter(2017, 1)) is flag
    finally:
        store.close()


def test_a_real_return_replacing_a_synthetic_one_is_not_labelled(capsys, tmp_path):
    config, db = write_catalogue(tmp_path / "c.yaml"), tmp_path / "csp.duckdb"
    fake = write_return(tmp_path / "fake.csv", [("A1", "2017/18 Q1", 3800, None, None)])
    real = write_return(tmp_path / "real.csv", [("A1", "2017/18 Q1", 3900, None, None)])
    run(capsys, "--db", db, "--config", config, "import", fake, "--user", "t@example.org", "--synthetic")
    run(capsys, "--db", db, "--config", config, "import", real, "--user", "t@example.org")
    store = Store(db, load_catalogue(config))
    try:
        assert not store.synthetic_figure("A1", Period.quarter(2017, 1))
    finally:
        store.close()
