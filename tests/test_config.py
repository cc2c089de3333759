"""Tests for cspdash.config: the shipped catalogue, the minimal catalogue of the spec and every kind of bad input."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from cspdash.config import Target, load_catalogue, loads_catalogue, parse_catalogue
from cspdash.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "indicators.yaml"

# Exactly as written in the specification: it must be accepted.
MINIMAL = (ROOT / "tests" / "data" / "minimal-indicators.yaml").read_text(encoding="utf-8")  # the spec's, verbatim


@pytest.fixture(scope="module")
def shipped():
    return load_catalogue(SHIPPED)


# --- the shipped catalogue -------------------------------------------------------------------------------------

def test_shipped_catalogue_loads_24_indicators(shipped):
    assert len(shipped.indicators) == 25
    assert len({i.id for i in shipped.indicators}) == 25
    assert [p.id for p in shipped.priorities] == ["A", "B", "C", "D"]


@pytest.mark.parametrize("priority", ["A", "B", "C", "D"])
def test_every_plan_priority_has_indicators(shipped, priority):
    assert shipped.indicators_of(priority=priority)


@pytest.mark.parametrize("indicator_id", ["B2", "C2", "C3"])
def test_more_reporting_is_good(shipped, indicator_id):
    assert shipped.indicator(indicator_id).direction == "increase"


@pytest.mark.parametrize(
    ("indicator_id", "target"),
    [
        ("A1", Target("change", -5.0, 5.0, "same_quarter_last_year")),
        ("B1", Target("fixed", 25.0, 5.0)),
        ("B5", Target("none")),
        ("C1", Target("fixed", 85.0, 5.0)),
        ("D1", Target("fixed", 0.0, 1.0)),
        ("D5", Target("change", -5.0, 5.0, "previous_year_average")),
        ("D6", Target("cumulative", 20.0, 25.0)),
        ("D7", Target("cumulative", 20.0, 25.0)),
        ("D10", Target("none")),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_shipped_targets(shipped, indicator_id, target):
    got = shipped.indicator(indicator_id).target
    # the rule only: where the level came from and the plan's baseline figures are tested in test_provenance.py
    assert replace(got, baseline_figures=(), source="", agreed_by="", agreed_on=None) == target


def test_shipped_details(shipped):
    assert shipped.rollup == "worst"
    assert (str(shipped.first_period), str(shipped.last_period)) == ("2010/11 Q1", "2030/31 Q4")
    assert shipped.indicator("C5").frequency == "annual"
    assert shipped.indicator("B2").paired_with == "B3"
    assert shipped.indicator("A1").small_numbers == 20
    assert shipped.indicator("A2").small_numbers == 10  # the default
    assert (shipped.indicator("C1").decimals, shipped.indicator("A1").decimals) == (1, 0)
    assert {d.name for d in shipped.datasets} == {"street_crime", "borough_crime", "population"}
    assert [i.id for i in shipped.indicators_of(owner="asb")] == ["A1", "A2", "A4"]
    assert shipped.subgroup("hate").priority == ("C",)


# --- the minimal catalogue -------------------------------------------------------------------------------------

def test_minimal_catalogue_is_accepted():
    cat = loads_catalogue(MINIMAL)
    (a1,) = cat.indicators
    assert (cat.name, cat.area, cat.rollup, cat.marking) == ("Example Partnership", "Example Partnership", "worst",
                                                             "OFFICIAL")
    assert (a1.id, a1.priority, a1.owner, a1.unit, a1.frequency, a1.direction) == (
        "A1", "A", "asb", "count", "quarterly", "decrease")
    assert a1.target == Target("change", -5.0, 5.0, "same_quarter_last_year", None)
    assert cat.subgroup("asb").priority == ("A",)
    assert cat.datasets == ()


def test_minimal_catalogue_from_a_file(tmp_path):
    path = tmp_path / "minimal.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert load_catalogue(path).indicator("A1").title == "Anti-social behaviour incidents recorded by police"


def test_change_baseline_defaults_to_same_quarter_last_year():
    cat = loads_catalogue(MINIMAL.replace("baseline: same_quarter_last_year, ", ""))
    assert cat.indicator("A1").target.baseline == "same_quarter_last_year"


# --- bad input: exact messages ---------------------------------------------------------------------------------

def _a1(d):
    return d["indicators"][0]


def _set(**kw):
    return lambda d: _a1(d).update(kw)


def _drop(key):
    return lambda d: _a1(d).pop(key)


def _target(**kw):
    return lambda d: _a1(d).update(target=kw)


def _add_b2(**kw):
    def mod(d):
        d["priorities"].append({"id": "B", "title": "Violence"})
        d["subgroups"].append({"id": "vawg", "name": "VAWG group", "priority": "B"})
        d["indicators"].append({**_a1(d), "id": "B2", "priority": "B", "owner": "vawg", **kw})
    return mod


INDICATOR_KEYS = ("compare, decimals, definition, direction, frequency, id, measure, owner, paired_with, per, priority, "
                  "rationale, small_numbers, source, spc, target, title, unit")

BAD = [
    ("spc-unknown-key", _set(spc={"rebase_at": ["2012/13 Q1"]}),
     ["indicators[A1].spc.rebase_at: unknown key; did you mean 'rebase'?"]),
    ("spc-rebase-not-a-list", _set(spc={"rebase": "2012/13 Q1"}),
     ["indicators[A1].spc.rebase: expected a list of periods, e.g. [2012/13 Q1], got '2012/13 Q1'"]),
    ("spc-rebase-coarser-than-grain", _set(spc={"rebase": ["2012/13"]}),
     ["indicators[A1].spc.rebase[0]: '2012/13' is a year, but a quarter is needed here; write a quarter such as "
      "2012/13 Q1"]),
    ("spc-rebase-out-of-order", _set(spc={"rebase": ["2013/14 Q1", "2012/13 Q1"]}),
     ["indicators[A1].spc.rebase[1]: 2012/13 Q1 is not after 2013/14 Q1; list each period once, oldest first"]),
    ("spc-rebase-twice", _set(spc={"rebase": ["2012/13 Q1", "2012/13 Q1"]}),
     ["indicators[A1].spc.rebase[1]: 2012/13 Q1 is not after 2012/13 Q1; list each period once, oldest first"]),
    ("spc-fix-too-small", _set(spc={"fix_after_n_points": 11}),
     ["indicators[A1].spc.fix_after_n_points: expected a whole number of at least 12 (as in NHSRplotthedots), "
      "got 11; or remove it"]),
    ("spc-fix-quoted", _set(spc={"fix_after_n_points": "12"}),
     ["indicators[A1].spc.fix_after_n_points: expected a whole number of at least 12 (as in NHSRplotthedots), "
      "got '12'; or remove it"]),
    ("unknown-key", _set(colour="red"),
     [f"indicators[A1].colour: unknown key; allowed keys: {INDICATOR_KEYS}"]),
    ("misspelt-key", _set(directon="decrease"),
     ["indicators[A1].directon: unknown key; did you mean 'direction'?"]),
    ("bad-direction-spec-example", _add_b2(direction="up"),
     ["indicators[B2].direction: expected increase|decrease|neutral, got 'up'"]),
    ("bad-unit", _set(unit="number"),
     ["indicators[A1].unit: expected count|percent|rate|ratio, got 'number'"]),
    ("bad-frequency", _set(frequency="weekly"),
     ["indicators[A1].frequency: expected monthly|quarterly|annual, got 'weekly'"]),
    ("unknown-owner", _set(owner="nobody"),
     ["indicators[A1].owner: no subgroup 'nobody'; expected one of asb"]),
    ("unknown-priority", _set(priority="Z"),
     ["indicators[A1].priority: expected A, got 'Z'"]),
    ("owner-of-another-priority", _add_b2(owner="asb"),
     ["indicators[B2].owner: subgroup 'asb' serves priority A, not 'B'; add B to its priority list or change the owner"]),
    ("bad-target-type", _target(type="bogus"),
     ["indicators[A1].target.type: expected fixed|change|cumulative|none, got 'bogus'"]),
    ("target-without-type", _target(value=5),
     ["indicators[A1].target.type: required; add it"]),
    ("missing-title", _drop("title"), ["indicators[A1].title: required; add it"]),
    ("missing-target", _drop("target"), ["indicators[A1].target: required; add it"]),
    ("missing-direction", _drop("direction"), ["indicators[A1].direction: required; add it"]),
    ("missing-id", _drop("id"), ["indicators[0].id: required; add it"]),
    ("cumulative-without-annual", _target(type="cumulative", tolerance=25),
     ["indicators[A1].target.annual: required for a cumulative target: the total wanted by the year end"]),
    ("cumulative-with-value", _target(type="cumulative", annual=20, value=5),
     ["indicators[A1].target.value: not used by a target of type cumulative; remove it"]),
    ("cumulative-on-a-percent", lambda d: _a1(d).update(unit="percent", direction="increase",
                                                        target={"type": "cumulative", "annual": 20}),
     ["indicators[A1].target.type: a cumulative target adds counts up over the year; unit is percent"]),
    ("fixed-baseline-without-value", _target(type="change", baseline="fixed", value=-5),
     ["indicators[A1].target.baseline_value: required when baseline is fixed: the figure to compare against"]),
    ("baseline-value-without-fixed", _target(type="change", value=-5, baseline_value=100),
     ["indicators[A1].target.baseline_value: only used with baseline: fixed, not same_quarter_last_year; remove it"]),
    ("bad-baseline", _target(type="change", value=-5, baseline="last_week"),
     ["indicators[A1].target.baseline: expected same_quarter_last_year|previous_quarter|previous_year_average|fixed, "
      "got 'last_week'"]),
    ("change-without-value", _target(type="change", tolerance=5),
     ["indicators[A1].target.value: required for a change target: give a number"]),
    ("fixed-without-value", _target(type="fixed"),
     ["indicators[A1].target.value: required for a fixed target: give a number"]),
    ("fixed-null-value", _target(type="fixed", value=None),
     ["indicators[A1].target.value: required for a fixed target: give a number"]),
    ("cumulative-null-annual", _target(type="cumulative", annual=None),
     ["indicators[A1].target.annual: required for a cumulative target: the total wanted by the year end"]),
    ("fixed-baseline-null-value", _target(type="change", value=-5, baseline="fixed", baseline_value=None),
     ["indicators[A1].target.baseline_value: required when baseline is fixed: the figure to compare against"]),
    ("quoted-number", _target(type="fixed", value="25"),
     ["indicators[A1].target.value: expected a number, got '25'; remove the quotes"]),
    ("negative-tolerance", _target(type="fixed", value=25, tolerance=-1),
     ["indicators[A1].target.tolerance: expected a number of at least 0, got -1"]),
    ("none-with-value", _target(type="none", value=5),
     ["indicators[A1].target.value: not used by a target of type none; remove it"]),
    ("neutral-with-change-target", _set(direction="neutral"),
     ["indicators[A1].target.type: a neutral indicator cannot have a change target; use type: none (monitor only) "
      "or give the indicator a direction"]),
    ("neutral-with-fixed-target", lambda d: _a1(d).update(direction="neutral", target={"type": "fixed", "value": 1}),
     ["indicators[A1].target.type: a neutral indicator cannot have a fixed target; use type: none (monitor only) "
      "or give the indicator a direction"]),
    ("paired-with-unknown", _set(paired_with="Z9"),
     ["indicators[A1].paired_with: no indicator 'Z9'; name another indicator's id"]),
    ("paired-with-itself", _set(paired_with="A1"),
     ["indicators[A1].paired_with: an indicator cannot be paired with itself"]),
    ("duplicate-id", lambda d: d["indicators"].append(dict(_a1(d))),
     ["indicators[A1]: duplicate id; ids must be unique"]),
    ("duplicate-id-with-other-problem", lambda d: d["indicators"].append({**_a1(d), "direction": "up"}),
     ["indicators[A1].direction: expected increase|decrease|neutral, got 'up'",
      "indicators[A1]: duplicate id; ids must be unique"]),
    ("bad-small-numbers", _set(small_numbers="ten"),
     ["indicators[A1].small_numbers: expected a number, got 'ten'"]),
    ("per-on-a-count", _set(per=100000),
     ["indicators[A1].per: only used by unit: rate, not count; remove it"]),
    ("bad-decimals", _set(decimals=7), ["indicators[A1].decimals: expected a whole number 0-4, got 7"]),
    ("synthetic-moved-to-the-upload", _set(synthetic=True),
     ["indicators[A1].synthetic: no longer a catalogue key: whether figures are synthetic is recorded on the upload "
      "(import --synthetic; docs/data.md); remove it"]),
    ("bad-id", _set(id="1A"),
     ["indicators[1A].id: expected a short id of letters, digits, '_', '.' or '-' starting with a letter, got '1A'"]),
    ("measure-unknown-dataset", _set(measure={"dataset": "nope", "aggregate": "count(*)"}),
     ["indicators[A1].measure.dataset: no dataset named 'nope'; declare it under datasets: (declared: none)"]),
    ("top-level-unknown-key", lambda d: d.update(colour=1),
     ["catalogue.colour: unknown key; allowed keys: datasets, indicators, partnership, periods, priorities, "
      "subgroups"]),
    ("bad-rollup", lambda d: d["partnership"].update(rollup="best"),
     ["partnership.rollup: expected worst|majority, got 'best'"]),
    ("duplicate-priority", lambda d: d["priorities"].append({"id": "A", "title": "Again"}),
     ["priorities[A]: duplicate id; ids must be unique"]),
    ("subgroup-unknown-priority", lambda d: d["subgroups"].append({"id": "x", "name": "X", "priority": "Q"}),
     ["subgroups[x].priority: no priority 'Q'; expected one of A"]),
    ("indicators-not-a-list", lambda d: d.update(indicators={"A1": 1}),
     ["indicators: expected a list, got dict"]),
    ("bad-periods", lambda d: d.update(periods={"first": "2017/18 Q5"}),
     ["periods.first: quarter Q5 does not exist: a financial year has Q1 (Apr-Jun) to Q4 (Jan-Mar)"]),
    ("periods-reversed", lambda d: d.update(periods={"first": "2018/19 Q1", "last": "2017/18 Q1"}),
     ["periods: last (2017/18 Q1) is before first (2018/19 Q1); swap them"]),
]


@pytest.mark.parametrize(("mutate", "problems"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_gives_exact_messages(mutate, problems):
    data = yaml.safe_load(MINIMAL)
    mutate(data)
    with pytest.raises(ConfigError) as e:
        parse_catalogue(copy.deepcopy(data))
    assert e.value.problems == problems


def test_every_problem_is_reported_at_once():
    data = yaml.safe_load(MINIMAL)
    _add_b2(target={"type": "cumulative"})(data)
    _a1(data).update(direction="up", unit="number", owner="nobody", colour=1)
    with pytest.raises(ConfigError) as e:
        parse_catalogue(data)
    assert e.value.problems == [
        f"indicators[A1].colour: unknown key; allowed keys: {INDICATOR_KEYS}",
        "indicators[A1].owner: no subgroup 'nobody'; expected one of asb|vawg",
        "indicators[A1].unit: expected count|percent|rate|ratio, got 'number'",
        "indicators[A1].direction: expected increase|decrease|neutral, got 'up'",
        "indicators[B2].target.annual: required for a cumulative target: the total wanted by the year end",
    ]
    text = str(e.value)
    assert text.startswith("indicators.yaml: 5 problem(s):\n  - indicators[A1].colour")
    assert all(f"  - {p}" in text for p in e.value.problems)


def test_problems_of_several_shipped_indicators(tmp_path):
    text = SHIPPED.read_text(encoding="utf-8")
    text = text.replace("    direction: increase\n    rationale: Domestic abuse", "    direction: up\n    rationale: "
                        "Domestic abuse")
    text = text.replace("      annual: 20\n", "")
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_catalogue(path)
    assert e.value.source == str(path)
    assert e.value.problems == [
        "indicators[B2].direction: expected increase|decrease|neutral, got 'up'",
        "indicators[D6].target.annual: required for a cumulative target: the total wanted by the year end",
        "indicators[D7].target.annual: required for a cumulative target: the total wanted by the year end",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("partnership: [\n", "line 2, column 1: not valid YAML (expected the node content, but found '<stream end>'); "
                             "check indentation and quoting"),
        ("a: b: c\n", "line 1, column 5: not valid YAML (mapping values are not allowed here); check indentation and "
                      "quoting"),
        ("", "catalogue: expected a mapping with keys datasets, indicators, partnership, periods, priorities, "
             "subgroups, got None"),
        ("- 1\n- 2\n", "catalogue: expected a mapping with keys datasets, indicators, partnership, periods, "
                       "priorities, subgroups, got list"),
    ],
    ids=["unclosed-list", "bad-mapping", "empty", "not-a-mapping"],
)
def test_bad_yaml(text, problem):
    with pytest.raises(ConfigError) as e:
        loads_catalogue(text)
    assert e.value.problems == [problem]


def test_missing_file_says_how_to_fix(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as e:
        load_catalogue(path)
    assert e.value.problems == [f"file not found; pass --config PATH or set CSPDASH_CONFIG (looked at {path})"]


@pytest.mark.parametrize(
    ("frequency", "spc_key", "rebase", "fix"),
    [
        ("quarterly", {"rebase": ["2012/13 Q1"], "fix_after_n_points": 12}, ["2012/13 Q1"], 12),
        ("monthly", {"rebase": ["2012-05", "2014/15 Q3"]}, ["2012/13 Q1", "2014/15 Q3"], None),  # a month: its quarter
        ("annual", {"rebase": ["2011-12"]}, ["2011/12"], None),  # read at the rated grain: the financial year
        ("quarterly", None, [], None),
    ],
)
def test_spc_key_is_read_at_the_rated_grain(frequency, spc_key, rebase, fix):
    """spc: {rebase: [...], fix_after_n_points: N} gives the phases' periods at the indicator's rated grain."""
    data = yaml.safe_load(MINIMAL)
    a1 = data["indicators"][0]
    a1["frequency"] = frequency
    if frequency == "annual":
        a1["target"] = {"type": "none"}
    if spc_key is not None:
        a1["spc"] = spc_key
    ind = parse_catalogue(data).indicator("A1")
    assert [p.label for p in ind.spc.rebase] == rebase
    assert ind.spc.fix_after_n_points == fix
