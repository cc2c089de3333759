"""Table-driven tests of the status engine's judgement rules (issue 12 items 1, 2 and 4; docs/status.md).

Each figure's 95% interval (exact Poisson for counts, Wilson score for a percentage given as numerator and
denominator, Poisson on the numerator for rates and ratios) is recomputed here with scipy, independently of
cspdash. Green and red stand only when the target lies beyond the interval on the matching side; every amber
says which amber; a green or red on 12 or more SPC points whose chart disagrees carries one sentence more; and
``rating="mdc"`` rates from the SPC chart's assurance and variation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from scipy.stats import binomtest, chi2
from test_status import garwood, ind, obs  # the same count indicator and independent Garwood interval

from cspdash.config import Indicator, Target, load_catalogue
from cspdash.errors import ConfigError
from cspdash.periods import parse_period, quarter_range
from cspdash.status import AMBER_REASONS, evaluate, figures_for, interval

ROOT = Path(__file__).resolve().parents[1]
POISSON, WILSON = "exact Poisson (Garwood)", "Wilson score"


def wilson(x: int, n: int) -> tuple[float, float]:
    """Wilson score 95% interval of x of n as proportions (0-1), from scipy's binomial test."""
    ci = binomtest(x, n).proportion_ci(method="wilson")
    return ci.low, ci.high


def judge(indicator: Indicator, rows, period: str = "2017/18 Q3", rating: str = "target"):
    return evaluate(indicator, parse_period(period), figures_for(indicator, obs(rows)), rating)


def quarterly(values, first: str = "2015/16 Q1"):
    """(rows, last period label) for consecutive quarters from ``first``."""
    qs = quarter_range(parse_period(first), parse_period("2030/31 Q4"))[:len(values)]
    return [(q.label, v) for q, v in zip(qs, values, strict=True)], qs[-1].label


@pytest.fixture(scope="module")
def shipped():
    return load_catalogue(ROOT / "indicators.yaml")


# --- the 95% interval of every unit ------------------------------------------------------------------------------

PCT = dict(unit="percent", direction="increase", target=Target("fixed", 85.0, 5.0), decimals=1)
RATE = dict(unit="rate", per=1000.0, target=Target("fixed", 5.0, 1.0), decimals=1)

INTERVALS = [
    # (id, indicator fields, value, numerator, denominator, expected (lower, upper) or None, method, cases)
    ("count", {}, 653.0, None, None, garwood(653), POISSON, None),
    ("count-zero", {}, 0.0, None, None, (0.0, chi2.ppf(0.975, 2) / 2), POISSON, None),
    ("count-fractional", {}, 7.5, None, None, garwood(7.5), POISSON, None),
    ("percent-wilson", PCT, 36.0, 18, 50, tuple(100 * x for x in wilson(18, 50)), WILSON, 50),
    ("percent-all", PCT, 100.0, 40, 40, tuple(100 * x for x in wilson(40, 40)), WILSON, 40),
    ("percent-none", PCT, 0.0, 0, 40, tuple(100 * x for x in wilson(0, 40)), WILSON, 40),
    # a "percentage" above 100% is not a proportion: Poisson on the numerator, scaled
    ("percent-above-100", PCT, 120.0, 60, 50, tuple(x * 100 / 50 for x in garwood(60)), POISSON, None),
    ("rate", RATE, 4.0, 12, 3000, tuple(x * 1000 / 3000 for x in garwood(12)), POISSON, None),
    ("ratio", dict(unit="ratio", target=Target("fixed", 1.0, 0.1)), 0.5, 50, 100,
     tuple(x / 100 for x in garwood(50)), POISSON, None),
    ("percent-without-counts", PCT, 90.0, None, None, None, None, None),
    ("rate-without-counts", RATE, 4.0, None, None, None, None, None),
    ("percent-zero-denominator", PCT, 0.0, 0, 0, None, None, None),
    ("negative-count", {}, -3.0, None, None, None, None, None),
    ("no-figure", {}, None, None, None, None, None, None),
]


@pytest.mark.parametrize(("kw", "value", "num", "den", "expected", "method", "cases"), [r[1:] for r in INTERVALS],
                         ids=[r[0] for r in INTERVALS])
def test_interval_of_every_unit(kw, value, num, den, expected, method, cases):
    iv = interval(ind(**kw), value, num, den)
    if expected is None:
        assert iv is None
        return
    assert (iv.lower, iv.upper) == (pytest.approx(expected[0], abs=1e-9), pytest.approx(expected[1], rel=1e-9))
    assert (iv.method, iv.cases) == (method, cases)
    assert iv.lower <= value <= iv.upper


def test_the_interval_is_on_the_status():
    i = ind(**PCT)
    s = judge(i, [("2017/18 Q3", (18, 50))])
    lo, hi = wilson(18, 50)
    assert (s.lower, s.upper, s.interval_method) == (pytest.approx(lo * 100), pytest.approx(hi * 100), WILSON)
    d = s.as_dict()
    assert {"lower", "upper", "interval_method", "amber_reason", "disagreement", "rating"} <= set(d)
    assert (d["interval_method"], d["rating"]) == (WILSON, "target")


# --- every amber says which amber --------------------------------------------------------------------------------

AMBERS = [
    # (id, indicator fields, rows, amber_reason, words in the reason)
    ("within-tolerance-count", {}, [("2016/17 Q3", 1000), ("2017/18 Q3", 980)], "within_tolerance",
     ": short of the target, but within the tolerance; AMBER."),
    ("within-tolerance-percent", PCT, [("2017/18 Q3", (8200, 10000))], "within_tolerance",
     "82.0% against a target of at least 85.0% (amber to 80.0%): short of the target, but within the tolerance; "
     "AMBER."),
    ("could-be-chance-met", {}, [("2016/17 Q3", 100), ("2017/18 Q3", 90)], "could_be_chance",
     "target a 5% fall (at most 95), met on its face, but that could be chance: 95% range 72-111; AMBER."),
    ("could-be-chance-missed", {}, [("2016/17 Q3", 100), ("2017/18 Q3", 102)], "could_be_chance",
     "target a 5% fall (at most 95), missed on its face, but that could be chance: 95% range 83-124; AMBER."),
    ("could-be-chance-percent", PCT, [("2017/18 Q3", (39, 50))], "could_be_chance",
     "78.0% against a target of at least 85.0% (amber to 80.0%), missed on its face, but on 50 cases that could be "
     "chance: 95% range 64.8%-87.2%; AMBER."),
    ("could-be-chance-no-interval", PCT, [("2017/18 Q3", 95.0)], "could_be_chance",
     "95.0% against a target of at least 85.0% (amber to 80.0%), met on its face, but with no numerator and "
     "denominator there is no 95% range, so it could be chance; not rated green; AMBER."),
    ("too-small-counts", {}, [("2016/17 Q3", 8), ("2017/18 Q3", 5)], "too_small_to_tell",
     "numbers too small to rate (both below 10): too small to tell, so not rated green; AMBER."),
    ("too-small-cases", dict(PCT, small_numbers=20), [("2017/18 Q3", (5, 18))], "too_small_to_tell",
     "based on only 18 cases (fewer than 20): too small to tell, so not rated red; AMBER."),
]


@pytest.mark.parametrize(("kw", "rows", "amber_reason", "words"), [a[1:] for a in AMBERS], ids=[a[0] for a in AMBERS])
def test_every_amber_reason(kw, rows, amber_reason, words):
    s = judge(ind(**kw), rows)
    assert (s.rag, s.amber_reason) == ("amber", amber_reason)
    assert s.small_numbers is (amber_reason == "too_small_to_tell")
    assert words in s.reason


def test_the_amber_table_covers_every_reason():
    assert {a[3] for a in AMBERS} == set(AMBER_REASONS)


def test_the_intervals_behind_the_amber_table():
    # the could-be-chance rows hold their target inside scipy's interval
    assert garwood(90)[0] < 95 < garwood(90)[1]
    assert garwood(102)[0] < 95 < garwood(102)[1]
    lo, hi = wilson(39, 50)
    assert lo < 0.85 < hi
    assert (round(lo * 100, 1), round(hi * 100, 1)) == (64.8, 87.2)


@pytest.mark.parametrize(
    ("kw", "rows", "rag"),
    [
        ({}, [("2016/17 Q3", 1000), ("2017/18 Q3", 800)], "green"),
        ({}, [("2016/17 Q3", 1000), ("2017/18 Q3", 1200)], "red"),
        ({}, [("2017/18 Q3", 800)], "no_data"),
        (dict(target=Target("none"), direction="neutral"), [("2017/18 Q3", 800)], "monitor"),
    ],
    ids=["green", "red", "no-data", "monitor"],
)
def test_only_amber_has_an_amber_reason(kw, rows, rag):
    s = judge(ind(**kw), rows)
    assert (s.rag, s.amber_reason) == (rag, None)


# --- the best possible figure ------------------------------------------------------------------------------------

BEST = [
    # (id, indicator fields, rows, rag, amber_reason): a figure at the end of its scale meeting a target set there
    ("zero-against-at-most-0", dict(target=Target("fixed", 0.0, 0.0)), [("2017/18 Q3", 0)], "green", None),
    ("zero-percent-against-at-most-0", dict(unit="percent", target=Target("fixed", 0.0, 0.0)),
     [("2017/18 Q3", (0, 40))], "green", None),
    ("all-against-at-least-100", dict(PCT, target=Target("fixed", 100.0, 5.0)), [("2017/18 Q3", (40, 40))], "green",
     None),
    ("100-without-counts", dict(PCT, target=Target("fixed", 100.0, 5.0)), [("2017/18 Q3", 100.0)], "green", None),
    # not the best possible: judged by the interval as any other figure
    ("all-against-at-least-95", dict(PCT, target=Target("fixed", 95.0, 5.0)), [("2017/18 Q3", (40, 40))], "amber",
     "could_be_chance"),
    ("zero-against-at-most-2", dict(target=Target("fixed", 2.0, 0.0)), [("2017/18 Q3", 0)], "amber",
     "could_be_chance"),
    ("one-against-at-most-0", dict(target=Target("fixed", 0.0, 0.0)), [("2017/18 Q3", 1)], "red", None),
    # too few cases comes first
    ("all-of-few", dict(PCT, target=Target("fixed", 100.0, 5.0), small_numbers=20), [("2017/18 Q3", (5, 5))], "amber",
     "too_small_to_tell"),
]


@pytest.mark.parametrize(("kw", "rows", "rag", "amber_reason"), [b[1:] for b in BEST], ids=[b[0] for b in BEST])
def test_best_possible_figure(kw, rows, rag, amber_reason):
    s = judge(ind(**kw), rows)
    assert (s.rag, s.amber_reason) == (rag, amber_reason)
    assert ("; the best possible figure; GREEN." in s.reason) is (rag == "green")


def test_the_best_possible_rule_is_needed():
    # without it, 0 against at most 0 and 40 of 40 against at least 100% would hold their target inside the interval
    assert garwood(0)[0] == 0.0
    assert wilson(40, 40)[1] == pytest.approx(1.0)
    assert garwood(0)[1] > 2 and wilson(40, 40)[0] < 0.95
    assert garwood(1)[0] > 0  # so one against at most 0 is beyond chance


# --- the issue's own cases ---------------------------------------------------------------------------------------

def test_b3_clear_miss_is_red_even_if_the_rise_could_be_chance(shipped):
    b3 = shipped.indicator("B3")
    rows = [("Oct 2024", 200), ("Nov 2024", 198), ("Dec 2024", 198), ("Oct 2025", 218), ("Nov 2025", 218),
            ("Dec 2025", 217)]
    s = judge(b3, rows, "2025/26 Q3")
    lo, hi = garwood(653)
    assert hi > 596 and lo > 596 * 0.95  # the rise on 596 could be chance; the miss of 566 could not
    assert (s.value, s.comparator, s.rag, s.amber_reason) == (653, 596, "red", None)
    assert s.target == pytest.approx(566.2)
    assert (s.lower, s.upper) == (pytest.approx(lo), pytest.approx(hi))
    assert s.reason == ("Up 9.6% on 2024/25 Q3 (596 → 653); target a 5% fall (at most 566); 95% range 604-705, so "
                        "missed beyond chance; RED.")


def test_36_percent_of_50_against_at_least_38_could_be_chance():
    i = ind(unit="percent", direction="increase", target=Target("fixed", 38.0, 0.0), decimals=1)
    s = judge(i, [("2017/18 Q3", (18, 50))])
    lo, hi = wilson(18, 50)
    assert (round(lo * 100, 1), round(hi * 100, 1)) == (24.1, 49.9)
    assert (s.rag, s.amber_reason, s.value) == ("amber", "could_be_chance", pytest.approx(36.0))
    assert "95% range 24.1%-49.9%" in s.reason
    assert s.reason == ("36.0% against a target of at least 38.0%, missed on its face, but on 50 cases that could be "
                        "chance: 95% range 24.1%-49.9%; AMBER.")


def test_d5_small_rise_on_73_young_people_is_not_red(shipped):
    d5 = shipped.indicator("D5")
    rows = [(f"2017/18 Q{q}", (19, 50)) for q in (1, 2, 3, 4)] + [("2018/19 Q2", (28, 73))]
    s = judge(d5, rows, "2018/19 Q2")
    assert s.comparator == pytest.approx(38.0)
    assert s.value - s.comparator == pytest.approx(0.36, abs=0.01)  # "+0.4 points": red on its face
    lo, hi = wilson(28, 73)
    assert lo * 100 < s.target < hi * 100
    assert (s.rag, s.amber_reason) == ("amber", "could_be_chance")
    assert "missed on its face, but on 73 cases that could be chance" in s.reason


# --- RAG and SPC read together -----------------------------------------------------------------------------------

STEADY = [1000, 1040, 980, 1020, 990, 1030, 970, 1010, 1000, 1025, 985]  # common-cause ups and downs
HIGH = [v + 1000 for v in STEADY]

COMMON = ("The SPC chart shows only common-cause variation, so this miss is part of the usual pattern: the service, "
          "not this quarter, needs to change.")
IMPROVING = "The SPC chart shows special-cause improvement: it is getting better, although the target is missed."
PASSING = "The SPC chart's limits lie wholly on the target's good side: the target is usually met."
CONCERN = ("The SPC chart shows special-cause concern: something has changed for the worse, although the target is "
           "met.")
FAILING = ("The SPC chart's limits lie wholly on the wrong side of the target: meeting it this time is unusual and "
           "should not be relied on.")

DISAGREE = [
    # (id, target (at most), series, rag, variation, assurance, sentence or None)
    ("red-common-cause", 500.0, [*STEADY, 1000], "red", "common_cause", "consistent_fail", COMMON),
    ("red-improving", 500.0, [*HIGH, 1500], "red", "special_cause_improvement", "consistent_fail", IMPROVING),
    ("red-limits-pass", 1500.0, [*STEADY, 1700], "red", "special_cause_concern", "consistent_pass", PASSING),
    ("green-concern", 5000.0, [*STEADY, 1500], "green", "special_cause_concern", "consistent_pass", CONCERN),
    ("green-limits-fail", 1000.0, [*HIGH, 900], "green", "special_cause_improvement", "consistent_fail", FAILING),
    # they agree: no sentence
    ("green-common-cause", 1500.0, [*STEADY, 1000], "green", "common_cause", "consistent_pass", None),
    ("red-concern", 500.0, [*STEADY, 1700], "red", "special_cause_concern", "consistent_fail", None),
    # fewer than 12 points: no sentence
    ("red-common-cause-11-points", 500.0, [*STEADY[:10], 1000], "red", "common_cause", "consistent_fail", None),
    # amber never gets one
    ("amber-common-cause", 1000.0, [*STEADY, 1000], "amber", "common_cause", "inconsistent", None),
]


@pytest.mark.parametrize(("level", "values", "rag", "variation", "assurance", "sentence"), [d[1:] for d in DISAGREE],
                         ids=[d[0] for d in DISAGREE])
def test_disagreement_sentence(level, values, rag, variation, assurance, sentence):
    rows, last = quarterly(values)
    s = judge(ind(target=Target("fixed", level, 0.0)), rows, last)
    assert (s.rag, s.variation, s.assurance, s.spc_points) == (rag, variation, assurance, len(values))
    assert s.disagreement == sentence
    word = {"red": "RED", "green": "GREEN", "amber": "AMBER"}[rag]
    if sentence:
        assert s.reason.endswith(f"; {word}. {sentence}")  # one sentence after the status word
        assert s.reason.count(f"; {word}.") == 1
    else:
        assert s.reason.endswith(f"; {word}.")


# --- partnership.rating: mdc -------------------------------------------------------------------------------------

MDC = [
    # (id, target (at most), series, rag, amber_reason, assurance, words)
    ("consistent-fail", 500.0, [*STEADY, 1000], "red", None, "consistent_fail",
     "the process limits 907.4-1,100.9 lie wholly on the wrong side of the target, so it will not be met without a "
     "change; RED."),
    ("consistent-pass", 1500.0, [*STEADY, 1000], "green", None, "consistent_pass",
     "the process limits 907.4-1,100.9 lie wholly on the good side of the target, so it is reliably met; GREEN."),
    ("concern", 1000.0, [*STEADY, 1200], "red", None, "inconsistent", "the SPC chart shows special-cause concern; RED."),
    ("improvement", 1000.0, [*STEADY, 800], "green", None, "inconsistent",
     "the SPC chart shows special-cause improvement; GREEN."),
    ("common-cause-target-inside", 1000.0, [*STEADY, 1000], "amber", "could_be_chance", "inconsistent",
     "common-cause variation, and the target lies within the process limits 907.4-1,100.9, so it will be met in some "
     "periods and missed in others by chance; AMBER."),
    ("eleven-points", 1000.0, [*STEADY[:10], 1000], "amber", "too_small_to_tell", None,
     "only 11 points on the SPC chart (fewer than 12): too small to tell; AMBER."),
]


@pytest.mark.parametrize(("level", "values", "rag", "amber_reason", "assurance", "words"), [m[1:] for m in MDC],
                         ids=[m[0] for m in MDC])
def test_mdc_rating(level, values, rag, amber_reason, assurance, words):
    rows, last = quarterly(values)
    i = ind(target=Target("fixed", level, 0.0))
    s = judge(i, rows, last, rating="mdc")
    assert (s.rag, s.amber_reason, s.rating, s.target) == (rag, amber_reason, "mdc", level)
    if assurance is not None:
        assert s.assurance == assurance
    assert s.reason.startswith(f"{values[-1]:,} against a target of at most {level:,.0f}")
    assert words in s.reason


def test_mdc_differs_from_the_target_rating_on_the_same_figures():
    # 1,200 against at most 1,000 on a steady chart: a clear miss by the target; special-cause concern by the chart
    rows, last = quarterly([*STEADY, 1200])
    i = ind(target=Target("fixed", 1000.0, 0.0))
    by_target, by_mdc = judge(i, rows, last), judge(i, rows, last, rating="mdc")
    assert (by_target.rag, by_target.rating) == ("red", "target")
    assert (by_mdc.rag, by_mdc.rating) == ("red", "mdc")
    # 1,000 against at most 1,000: the target rule asks the figure's interval, mdc asks the process limits
    rows, last = quarterly([*STEADY, 1000])
    assert judge(i, rows, last).amber_reason == judge(i, rows, last, rating="mdc").amber_reason == "could_be_chance"
    assert "95% range" in judge(i, rows, last).reason
    assert "process limits" in judge(i, rows, last, rating="mdc").reason


def test_mdc_rates_a_change_target_against_its_level():
    # a 5% fall on the same quarter last year: the level is 95% of last year's quarter, compared with the limits
    values = [*STEADY, 1000]
    rows, last = quarterly(values)
    s = judge(ind(), rows, last, rating="mdc")
    level = values[-5] * 0.95  # 2016/17 Q4 is 4 quarters before 2017/18 Q4
    assert s.target == pytest.approx(level)
    assert (s.rag, s.rating, s.amber_reason) == ("amber", "mdc", "could_be_chance")


def test_mdc_leaves_cumulative_targets_to_the_target_rule():
    s = judge(ind(direction="increase", target=Target("cumulative", 20.0 * 10**6, 25.0)),
              [("2017/18 Q1", 5_010_000)], "2017/18 Q1", rating="mdc")
    assert (s.rag, s.rating) == ("green", "target")
    assert "beyond chance" in s.reason


@pytest.mark.parametrize(("value", "rating"), [(None, "target"), ("target", "target"), ("mdc", "mdc")])
def test_catalogue_partnership_rating(tmp_path, value, rating):
    data = yaml.safe_load((ROOT / "indicators.yaml").read_text(encoding="utf-8"))
    if value is not None:
        data["partnership"]["rating"] = value
    path = tmp_path / "indicators.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert load_catalogue(path).rating == rating


def test_catalogue_refuses_an_unknown_rating(tmp_path):
    data = yaml.safe_load((ROOT / "indicators.yaml").read_text(encoding="utf-8"))
    data["partnership"]["rating"] = "spc"
    path = tmp_path / "indicators.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_catalogue(path)
    assert "rating" in str(e.value)


# --- the issue's cases through the CLI: import a return, then status --format json ------------------------------

CLI_CATALOGUE = """\
partnership: {name: Example Partnership}
periods: {first: 2015/16 Q1, last: 2030/31 Q4}
priorities:
  - {id: B, title: Violence}
subgroups:
  - {id: vio, name: Violence Group, priority: B}
indicators:
  - {id: B3, priority: B, owner: vio, title: Violence with injury, unit: count, frequency: monthly,
     direction: decrease, target: {type: change, baseline: same_quarter_last_year, value: -5, tolerance: 5}}
  - {id: P1, priority: B, owner: vio, title: Share of cases closed, unit: percent, frequency: quarterly,
     direction: increase, decimals: 1, target: {type: fixed, value: 38, tolerance: 0}}
  - {id: D5, priority: B, owner: vio, title: Re-offending rate, unit: percent, frequency: quarterly,
     direction: decrease, small_numbers: 20, target: {type: change, baseline: previous_year_average, value: -5,
     tolerance: 5}}
"""

CLI_RETURN = """\
indicator,period,value,numerator,denominator
B3,Oct 2017,200,,
B3,Nov 2017,198,,
B3,Dec 2017,198,,
B3,Oct 2018,218,,
B3,Nov 2018,218,,
B3,Dec 2018,217,,
P1,2018/19 Q3,,18,50
D5,2017/18 Q1,,19,50
D5,2017/18 Q2,,19,50
D5,2017/18 Q3,,19,50
D5,2017/18 Q4,,19,50
D5,2018/19 Q3,,28,73
"""


def test_the_issues_cases_through_the_cli(tmp_path, capsys, monkeypatch):
    from cspdash.cli import main

    monkeypatch.delenv("CSPDASH_CONFIG", raising=False)
    monkeypatch.delenv("CSPDASH_DB", raising=False)
    config, ret, db = tmp_path / "indicators.yaml", tmp_path / "return.csv", tmp_path / "csp.duckdb"
    config.write_text(CLI_CATALOGUE, encoding="utf-8")
    ret.write_text(CLI_RETURN, encoding="utf-8")
    base = ["--db", str(db), "--config", str(config)]
    assert main([*base, "init"]) == 0  # import never makes a database
    assert main([*base, "import", str(ret), "--user", "analyst@example.org"]) == 0
    capsys.readouterr()
    assert main([*base, "status", "--period", "2018/19 Q3", "--format", "json"]) == 0
    by_id = {r["indicator"]: r for r in json.loads(capsys.readouterr().out)}
    b3, p1, d5 = by_id["B3"], by_id["P1"], by_id["D5"]
    # B3: 596 -> 653 against a 5% fall (566): a clear miss, RED
    assert (b3["value"], b3["comparator"], b3["rag"], b3["amber_reason"]) == (653, 596, "red", None)
    assert (b3["lower"], b3["upper"], b3["interval_method"]) == (pytest.approx(garwood(653)[0], abs=1e-6),
                                                                  pytest.approx(garwood(653)[1], abs=1e-6), POISSON)
    assert "95% range 604-705, so missed beyond chance; RED." in b3["reason"]
    # 18 of 50 (36%) against at least 38%: AMBER, could be chance
    lo, hi = wilson(18, 50)
    assert (p1["rag"], p1["amber_reason"], p1["interval_method"]) == ("amber", "could_be_chance", WILSON)
    assert (p1["lower"], p1["upper"]) == (pytest.approx(lo * 100, abs=1e-6), pytest.approx(hi * 100, abs=1e-6))
    assert "95% range 24.1%-49.9%" in p1["reason"]
    # D5: +0.4 points on 28 of 73 young people is not RED
    assert (d5["numerator"], d5["denominator"]) == (28, 73)
    assert (d5["rag"], d5["amber_reason"]) == ("amber", "could_be_chance")
