"""Tests for cspdash.status: roll-up of figures, RAG rules for every target type, small numbers, reasons, roll-ups.

Green and red stand only when the target lies outside the figure's 95% interval (docs/status.md); the tables of
edges use counts large enough (BIG) that the interval is narrow and the face rule stays visible. The interval rule
itself, every amber_reason, the RAG/SPC disagreement sentence and ``rating="mdc"`` are in test_status_rules.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scipy.stats import binomtest, chi2

from cspdash.config import Indicator, Target, load_catalogue
from cspdash.periods import parse_period
from cspdash.status import (
    RAGS,
    Observation,
    Status,
    evaluate,
    evaluate_all,
    figures_for,
    headline,
    rated_grain,
    rollup,
    target_text,
)

ROOT = Path(__file__).resolve().parents[1]
BIG = 10_000_000  # a count this large has a 95% interval of about +-0.06%, so a 0.1% gap from the target is beyond chance


def garwood(k: float) -> tuple[float, float]:
    """Exact Poisson 95% interval of a count, from chi-squared quantiles (independent of cspdash)."""
    return (0.0 if k == 0 else chi2.ppf(0.025, 2 * k) / 2), chi2.ppf(0.975, 2 * k + 2) / 2


def wilson_pct(x: int, n: int) -> tuple[float, float]:
    """Wilson score 95% interval of x of n, in percent, from scipy's binomial test."""
    ci = binomtest(x, n).proportion_ci(method="wilson")
    return ci.low * 100, ci.high * 100


def ind(**kw) -> Indicator:
    """A quarterly count indicator: decrease, a 5% fall on the same quarter last year, tolerance 5."""
    fields = dict(id="X1", priority="A", owner="asb", title="Test indicator", unit="count", frequency="quarterly",
                  direction="decrease", target=Target("change", -5.0, 5.0, "same_quarter_last_year"))
    fields.update(kw)
    return Indicator(**fields)


def obs(rows) -> list[Observation]:
    """Observations from (period label, value) or (period label, (numerator, denominator))."""
    out = []
    for label, v in rows:
        p = parse_period(label)
        out.append(Observation(p, numerator=v[0], denominator=v[1]) if isinstance(v, tuple) else Observation(p, v))
    return out


def judge(indicator: Indicator, rows, period: str = "2017/18 Q3") -> Status:
    return evaluate(indicator, parse_period(period), figures_for(indicator, obs(rows)))


@pytest.fixture(scope="module")
def shipped():
    return load_catalogue(ROOT / "indicators.yaml")


# --- change targets: edges, both directions ---------------------------------------------------------------------

DEC = Target("change", -5.0, 5.0, "same_quarter_last_year")
INC = Target("change", 5.0, 5.0, "same_quarter_last_year")
INC10 = Target("change", 10.0, 10.0, "same_quarter_last_year")
DEC_NO_TOL = Target("change", -5.0, 0.0, "same_quarter_last_year")

EDGES = [
    # decrease, at least a 5% fall is green; up to 5 points short (a change in (-5%, 0%]) is amber; a rise is red.
    # Exactly at the target is green on its face, but the target is inside the figure's interval: could be chance.
    ("dec -10% green", "decrease", DEC, 9_000_000, "green", None),
    ("dec -5.1% green", "decrease", DEC, 9_490_000, "green", None),
    ("dec -5% at target", "decrease", DEC, 9_500_000, "amber", "could_be_chance"),
    ("dec -4.9% amber", "decrease", DEC, 9_510_000, "amber", "within_tolerance"),
    ("dec 0% amber", "decrease", DEC, 10_000_000, "amber", "within_tolerance"),
    ("dec +0.1% red", "decrease", DEC, 10_010_000, "red", None),
    ("dec +10% red", "decrease", DEC, 11_000_000, "red", None),
    # increase mirrors
    ("inc +10% green", "increase", INC, 11_000_000, "green", None),
    ("inc +5.1% green", "increase", INC, 10_510_000, "green", None),
    ("inc +5% at target", "increase", INC, 10_500_000, "amber", "could_be_chance"),
    ("inc +4.9% amber", "increase", INC, 10_490_000, "amber", "within_tolerance"),
    ("inc 0% amber", "increase", INC, 10_000_000, "amber", "within_tolerance"),
    ("inc -0.1% red", "increase", INC, 9_990_000, "red", None),
    # a 10% rise with 10 points' tolerance (A3)
    ("inc10 +10.1% green", "increase", INC10, 11_010_000, "green", None),
    ("inc10 +10% at target", "increase", INC10, 11_000_000, "amber", "could_be_chance"),
    ("inc10 +9.99% amber", "increase", INC10, 10_999_000, "amber", "within_tolerance"),
    ("inc10 0% amber", "increase", INC10, 10_000_000, "amber", "within_tolerance"),
    ("inc10 -0.1% red", "increase", INC10, 9_990_000, "red", None),
    # no tolerance: anything short of the target is red
    ("tol0 -5.1% green", "decrease", DEC_NO_TOL, 9_490_000, "green", None),
    ("tol0 -5% at target", "decrease", DEC_NO_TOL, 9_500_000, "amber", "could_be_chance"),
    ("tol0 -4.9% red", "decrease", DEC_NO_TOL, 9_510_000, "red", None),
]


@pytest.mark.parametrize(("direction", "target", "value", "rag", "amber_reason"), [e[1:] for e in EDGES],
                         ids=[e[0] for e in EDGES])
def test_change_target_edges(direction, target, value, rag, amber_reason):
    s = judge(ind(direction=direction, target=target), [("2016/17 Q3", BIG), ("2017/18 Q3", value)])
    assert (s.rag, s.amber_reason) == (rag, amber_reason)
    assert (s.value, s.comparator, s.comparator_period) == (value, BIG, "2016/17 Q3")
    assert s.target == pytest.approx(BIG * (1 + target.value / 100))
    assert s.change_pct == pytest.approx((value - BIG) / BIG * 100)
    assert (s.lower, s.upper, s.interval_method) == (*(pytest.approx(x) for x in garwood(value)),
                                                    "exact Poisson (Garwood)")
    assert not s.small_numbers
    assert s.reason.endswith(f"; {rag.upper()}.")


def test_reason_sentence_of_the_spec():
    s = judge(ind(), [("2016/17 Q3", 3912), ("2017/18 Q3", 3443)])
    # 3,912 x 0.95 = 3,716.4; the 95% interval of 3,443 is 3,328.9-3,560.0, wholly below it
    assert garwood(3443) == (pytest.approx(3328.945, abs=1e-3), pytest.approx(3559.966, abs=1e-3))
    assert s.reason == ("Down 12% on 2016/17 Q3 (3,912 → 3,443); target a 5% fall (at most 3,716); "
                        "95% range 3,329-3,560, so met beyond chance; GREEN.")
    assert (s.rag, s.period, s.rated_period, s.trend, s.improving) == ("green", "2017/18 Q3", "2017/18 Q3", "down", True)
    assert (s.amber_reason, s.disagreement) == (None, None)
    assert s.target_text == "a 5% fall"


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([("2016/17 Q3", BIG), ("2017/18 Q3", 9_510_000)],
         "Down 4.9% on 2016/17 Q3 (10,000,000 → 9,510,000); target a 5% fall (at most 9,500,000): short of the target, "
         "but within the tolerance; AMBER."),
        ([("2016/17 Q3", BIG), ("2017/18 Q3", BIG)],
         "Level on 2016/17 Q3 (10,000,000 → 10,000,000); target a 5% fall (at most 9,500,000): short of the target, "
         "but within the tolerance; AMBER."),
        ([("2016/17 Q3", BIG), ("2017/18 Q3", 11_000_000)],  # interval 10,993,500.5-11,006,502.4
         "Up 10% on 2016/17 Q3 (10,000,000 → 11,000,000); target a 5% fall (at most 9,500,000); "
         "95% range 10,993,500-11,006,502, so missed beyond chance; RED."),
    ],
    ids=["amber", "level", "red"],
)
def test_change_reasons(rows, reason):
    assert judge(ind(), rows).reason == reason


# --- indicators where more reporting is good (B2, C2, C3) --------------------------------------------------------

@pytest.mark.parametrize("indicator_id", ["B2", "C2", "C3"])
@pytest.mark.parametrize(
    ("previous", "current", "rag"),
    [(1000, 1200, "green"), (1000, 1000, "amber"), (1000, 800, "red")],
    ids=["rise-green", "level-amber", "fall-red"],
)
def test_more_reporting_is_good(shipped, indicator_id, previous, current, rag):
    i = shipped.indicator(indicator_id)
    rows = ([("2016/17 Q3", previous), ("2017/18 Q3", current)] if i.frequency == "quarterly" else
            [(m, previous / 3) for m in ("Oct 2016", "Nov 2016", "Dec 2016")]
            + [(m, current / 3) for m in ("Oct 2017", "Nov 2017", "Dec 2017")])
    s = judge(i, rows)
    assert s.rag == rag
    assert s.value == pytest.approx(current)


# --- small numbers and chance ----------------------------------------------------------------------------------

def test_both_below_threshold_is_amber_and_says_so():
    s = judge(ind(), [("2016/17 Q3", 8), ("2017/18 Q3", 5)])
    assert (s.rag, s.small_numbers, s.amber_reason) == ("amber", True, "too_small_to_tell")
    assert s.reason == ("Down 38% on 2016/17 Q3 (8 → 5); target a 5% fall (at most 8); numbers too small to rate "
                        "(both below 10): too small to tell, so not rated green; AMBER.")


def test_small_rise_is_amber_not_red():
    s = judge(ind(), [("2016/17 Q3", 5), ("2017/18 Q3", 9)])
    assert (s.rag, s.small_numbers, s.amber_reason) == ("amber", True, "too_small_to_tell")
    assert "numbers too small to rate (both below 10): too small to tell, so not rated red; AMBER." in s.reason


@pytest.mark.parametrize(
    ("threshold", "rag", "small", "amber_reason"),
    [(10, "amber", True, "too_small_to_tell"), (0, "green", False, None)],
    ids=["threshold-10", "threshold-0"],
)
def test_threshold_decides_small_numbers(threshold, rag, small, amber_reason):
    # 9 -> 1: the 95% interval of 1 (0.03-5.57) lies wholly below the target of 8.55; only the threshold stops a green
    assert garwood(1)[1] < 9 * 0.95
    s = judge(ind(small_numbers=threshold), [("2016/17 Q3", 9), ("2017/18 Q3", 1)])
    assert (s.rag, s.small_numbers, s.amber_reason) == (rag, small, amber_reason)


def test_within_chance_is_amber_with_the_range():
    # 12 -> 5 meets a target of at most 11.4 on its face, but the interval of 5 (1.6-11.7) holds 11.4
    lo, hi = garwood(5)
    assert lo < 12 * 0.95 < hi
    s = judge(ind(), [("2016/17 Q3", 12), ("2017/18 Q3", 5)])
    assert (s.rag, s.small_numbers, s.amber_reason) == ("amber", False, "could_be_chance")
    assert (s.lower, s.upper) == (pytest.approx(lo), pytest.approx(hi))
    assert s.reason == ("Down 58% on 2016/17 Q3 (12 → 5); target a 5% fall (at most 11), met on its face, but that "
                        "could be chance: 95% range 2-12; AMBER.")


@pytest.mark.parametrize(
    ("previous", "current", "rag", "amber_reason"),
    [
        (10_000, 10_010, "red", None),  # +0.1% is red on its face; the target 9,500 is below the interval 9,815-10,208
        (10_000, 10_300, "red", None),  # +3%: interval 10,102-10,501
        (100, 90, "amber", "could_be_chance"),  # -10% meets the target 95 on its face; interval 72-111 holds it
        (100, 60, "green", None),  # -40%: interval 46-77, wholly below 95
        (100, 130, "red", None),  # +30%: interval 109-154, wholly above 95
        (100, 102, "amber", "could_be_chance"),  # +2% is red on its face (7 points short); interval 83-124 holds 95
    ],
    ids=["tiny-rise-clear-miss", "rise-clear-miss", "fall-chance", "fall-beyond-chance", "rise-beyond-chance",
         "rise-chance"],
)
def test_target_against_the_interval(previous, current, rag, amber_reason):
    level = previous * 0.95
    lo, hi = garwood(current)
    assert rag != "amber" or lo <= level <= hi  # the table agrees with scipy's interval
    s = judge(ind(), [("2016/17 Q3", previous), ("2017/18 Q3", current)])
    assert (s.rag, s.amber_reason, s.small_numbers) == (rag, amber_reason, False)
    assert (s.lower, s.upper, s.target) == (pytest.approx(lo), pytest.approx(hi), pytest.approx(level))
    assert ("could be chance" in s.reason) is (amber_reason == "could_be_chance")
    assert ("beyond chance" in s.reason) is (rag != "amber")


def test_the_interval_never_touches_a_face_amber():
    s = judge(ind(), [("2016/17 Q3", 100), ("2017/18 Q3", 98)])
    assert (s.rag, s.small_numbers, s.amber_reason) == ("amber", False, "within_tolerance")


def test_previous_year_average_is_judged_on_the_figures_interval():
    # 940 against a target of 950 (5% below the 1,000 average): the interval of 940 (881-1,002) holds 950
    lo, hi = garwood(940)
    assert lo < 950 < hi
    i = ind(target=Target("change", -5.0, 5.0, "previous_year_average"))
    rows = [("2016/17 Q1", 900), ("2016/17 Q2", 1000), ("2016/17 Q3", 1100), ("2016/17 Q4", 1000),
            ("2017/18 Q3", 940)]
    s = judge(i, rows)
    assert (s.comparator, s.comparator_period, s.rag) == (1000, "the 2016/17 quarterly average", "amber")
    assert s.amber_reason == "could_be_chance"
    assert "that could be chance: 95% range 881-1,002" in s.reason


# --- baselines -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("baseline", "rows", "period", "comparator", "comparator_period", "rag"),
    [
        ("previous_quarter", [("2017/18 Q2", 10000), ("2017/18 Q3", 9000)], "2017/18 Q3", 10000, "2017/18 Q2",
         "green"),
        ("previous_quarter", [("2017/18 Q4", 10000), ("2018/19 Q1", 9000)], "2018/19 Q1", 10000, "2017/18 Q4",
         "green"),
        ("same_quarter_last_year", [("2016/17 Q1", 10000), ("2017/18 Q1", 9000)], "2017/18 Q1", 10000, "2016/17 Q1",
         "green"),
        ("previous_year_average", [("2016/17 Q1", 9000), ("2016/17 Q2", 10000), ("2016/17 Q3", 11000),
                                   ("2016/17 Q4", 10000), ("2017/18 Q3", 9000)], "2017/18 Q3", 10000,
         "the 2016/17 quarterly average", "green"),
    ],
    ids=["prev-quarter", "prev-quarter-across-years", "same-quarter-last-year", "prev-year-average"],
)
def test_baselines(baseline, rows, period, comparator, comparator_period, rag):
    # 9,000 against a target of 9,500: the interval of 9,000 (8,815-9,188) lies wholly below it
    s = judge(ind(target=Target("change", -5.0, 5.0, baseline)), rows, period)
    assert (s.comparator, s.comparator_period, s.rag) == (comparator, comparator_period, rag)


@pytest.mark.parametrize(
    ("base", "value", "rag", "amber_reason", "reason"),
    [
        (BIG, 9_490_000, "green", None,
         "Down 5.1% on the baseline (10,000,000 → 9,490,000); target a 5% fall (at most 9,500,000); "
         "95% range 9,483,963-9,496,040, so met beyond chance; GREEN."),
        (BIG, 9_500_000, "amber", "could_be_chance",
         "Down 5% on the baseline (10,000,000 → 9,500,000); target a 5% fall (at most 9,500,000), met on its face, "
         "but that could be chance: 95% range 9,493,960-9,506,043; AMBER."),
        (BIG, 9_800_000, "amber", "within_tolerance",
         "Down 2% on the baseline (10,000,000 → 9,800,000); target a 5% fall (at most 9,500,000): short of the "
         "target, but within the tolerance; AMBER."),
        (BIG, 10_010_000, "red", None,
         "Up 0.1% on the baseline (10,000,000 → 10,010,000); target a 5% fall (at most 9,500,000); "
         "95% range 10,003,800-10,016,203, so missed beyond chance; RED."),
        # a fixed baseline has no interval of its own, but the figure's interval still applies: 940-1,065 holds 950
        (1000, 1001, "amber", "could_be_chance",
         "Up 0.1% on the baseline (1,000 → 1,001); target a 5% fall (at most 950), missed on its face, but that "
         "could be chance: 95% range 940-1,065; AMBER."),
    ],
    ids=["green", "at-target", "amber", "red", "small-red-could-be-chance"],
)
def test_fixed_baseline(base, value, rag, amber_reason, reason):
    s = judge(ind(target=Target("change", -5.0, 5.0, "fixed", float(base))), [("2017/18 Q3", value)])
    assert (s.rag, s.amber_reason, s.reason, s.comparator) == (rag, amber_reason, reason, base)
    assert (s.lower, s.upper) == tuple(pytest.approx(x) for x in garwood(value))


def test_previous_year_average_needs_all_four_quarters():
    i = ind(target=Target("change", -5.0, 5.0, "previous_year_average"))
    s = judge(i, [("2016/17 Q1", 900), ("2016/17 Q2", 1000), ("2016/17 Q3", 1100), ("2017/18 Q3", 940)])
    assert s.rag == "no_data"
    assert s.reason == "940, but no comparator: no figure for the 2016/17 quarterly average; NO DATA."


# --- fixed targets ---------------------------------------------------------------------------------------------

M = 1_000_000  # fixed targets in millions, so the 95% interval (about +-0.04% of 25M) is narrow

FIXED = [
    ("inc above", "increase", Target("fixed", 25.0 * M, 5.0 * M), 30 * M, "green", None),
    ("inc just above", "increase", Target("fixed", 25.0 * M, 5.0 * M), 25_010_000, "green", None),
    ("inc at target", "increase", Target("fixed", 25.0 * M, 5.0 * M), 25 * M, "amber", "could_be_chance"),
    ("inc 1M short", "increase", Target("fixed", 25.0 * M, 5.0 * M), 24 * M, "amber", "within_tolerance"),
    ("inc at amber edge", "increase", Target("fixed", 25.0 * M, 5.0 * M), 20 * M, "amber", "within_tolerance"),
    ("inc past amber edge", "increase", Target("fixed", 25.0 * M, 5.0 * M), 19 * M, "red", None),
    ("dec at target 0", "decrease", Target("fixed", 0.0, 1.0), 0, "green", None),  # the best possible figure
    ("dec at amber edge", "decrease", Target("fixed", 0.0, 1.0), 1, "amber", "within_tolerance"),
    ("dec past amber edge", "decrease", Target("fixed", 0.0, 1.0), 2, "red", None),  # interval 0.24-7.2
    ("no tolerance", "increase", Target("fixed", 25.0 * M, 0.0), 24_990_000, "red", None),
    # the same edges on small counts: the interval holds the target, so neither green nor red stands
    ("small above", "increase", Target("fixed", 25.0, 5.0), 30, "amber", "could_be_chance"),
    ("small at target", "increase", Target("fixed", 25.0, 5.0), 25, "amber", "could_be_chance"),
    ("small past amber edge", "increase", Target("fixed", 25.0, 5.0), 19, "amber", "could_be_chance"),
    ("small no tolerance", "increase", Target("fixed", 25.0, 0.0), 24.9, "amber", "could_be_chance"),
    ("small well above", "increase", Target("fixed", 25.0, 5.0), 60, "green", None),  # interval 46-77
]


@pytest.mark.parametrize(("direction", "target", "value", "rag", "amber_reason"), [f[1:] for f in FIXED],
                         ids=[f[0] for f in FIXED])
def test_fixed_target_edges(direction, target, value, rag, amber_reason):
    s = judge(ind(direction=direction, target=target, small_numbers=0), [("2017/18 Q3", value)])
    assert (s.rag, s.amber_reason, s.target, s.value) == (rag, amber_reason, target.value, value)
    assert (s.lower, s.upper) == tuple(pytest.approx(x) for x in garwood(value))


@pytest.mark.parametrize(
    ("num", "den", "rag", "amber_reason"),
    [(85500, 100000, "green", None), (85000, 100000, "amber", "could_be_chance"), (850, 1000, "amber", "could_be_chance"),
     (800, 1000, "amber", "within_tolerance"), (799, 1000, "red", None), (900, 1000, "green", None)],
    ids=["85.5%-of-100k", "85.0%-of-100k", "85.0%", "80.0%", "79.9%", "90.0%"],
)
def test_fixed_percent_edges(num, den, rag, amber_reason):
    i = ind(unit="percent", direction="increase", target=Target("fixed", 85.0, 5.0), decimals=1, small_numbers=20)
    s = judge(i, [("2017/18 Q3", (num, den))])
    assert (s.rag, s.amber_reason) == (rag, amber_reason)
    assert s.value == pytest.approx(num / den * 100)
    assert (s.lower, s.upper, s.interval_method) == (*(pytest.approx(x) for x in wilson_pct(num, den)), "Wilson score")


def test_fixed_reasons():
    s = judge(ind(direction="increase", target=Target("fixed", 25.0, 5.0)), [("2016/17 Q3", 20), ("2017/18 Q3", 25)])
    assert s.reason == ("25 against a target of at least 25 (amber to 20), met on its face, but that could be chance: "
                        "95% range 16-37; up 25% on 2016/17 Q3 (20 → 25); AMBER.")
    s = judge(ind(direction="increase", target=Target("fixed", 25.0, 5.0)), [("2016/17 Q3", 20), ("2017/18 Q3", 60)])
    assert s.reason == ("60 against a target of at least 25 (amber to 20); 95% range 46-77, so met beyond chance; "
                        "up 200% on 2016/17 Q3 (20 → 60); GREEN.")
    s = judge(ind(target=Target("fixed", 0.0, 0.0), small_numbers=0), [("2017/18 Q3", 2)])
    assert (s.rag, s.amber_reason) == ("red", None)
    assert s.reason.startswith("2 against a target of at most 0; 95% range ")
    assert s.reason.endswith(", so missed beyond chance; RED.")


def test_fixed_percent_on_few_cases_is_amber():
    i = ind(unit="percent", direction="increase", target=Target("fixed", 85.0, 5.0), decimals=1, small_numbers=20)
    s = judge(i, [("2017/18 Q3", (14, 18))])  # 77.8% would be red, but only 18 cases
    assert (s.rag, s.small_numbers, s.amber_reason) == ("amber", True, "too_small_to_tell")
    assert s.reason == ("77.8% against a target of at least 85.0% (amber to 80.0%); based on only 18 cases "
                        "(fewer than 20): too small to tell, so not rated red; AMBER.")


# --- ratios from summed numerators and denominators; monthly roll-up --------------------------------------------

def test_percent_from_summed_numerators_and_denominators():
    i = ind(unit="percent", direction="increase", target=Target("fixed", 85.0, 5.0), decimals=1, small_numbers=20)
    rows = [("Oct 2017", (90, 100)), ("Nov 2017", (1, 10)), ("Dec 2017", (9, 10))]
    s = judge(i, rows)
    # 100 / 120 = 83.3%; the average of 90%, 10% and 90% would be 63.3% (red)
    assert s.value == pytest.approx(100 / 120 * 100)
    assert (s.numerator, s.denominator, s.rag) == (100, 120, "amber")


def test_rate_from_summed_numerators_and_denominators():
    i = ind(unit="rate", per=1000.0, target=Target("none"), direction="neutral")
    fig = figures_for(i, obs([("Oct 2017", (1, 1000)), ("Nov 2017", (2, 1000)), ("Dec 2017", (9, 1000))]))
    assert fig[parse_period("2017/18 Q3")].value == pytest.approx(4.0)  # 12 per 3,000 = 4 per 1,000


def test_previous_year_average_of_a_percent_uses_summed_counts():
    i = ind(unit="percent", target=Target("change", -5.0, 5.0, "previous_year_average"), decimals=1, small_numbers=20)
    rows = [("2016/17 Q1", (40, 100)), ("2016/17 Q2", (10, 20)), ("2016/17 Q3", (40, 100)), ("2016/17 Q4", (10, 20)),
            ("2017/18 Q3", (300, 1000))]
    s = judge(i, rows)
    assert s.comparator == pytest.approx(100 / 240 * 100)  # 41.7%, not the 45% average of 40, 50, 40, 50
    assert s.target == pytest.approx(100 / 240 * 95)  # 39.6%, above the interval of 300 of 1,000 (27.2%-32.9%)
    assert s.rag == "green"


def test_percentages_without_counts_cannot_be_rolled_up():
    i = ind(unit="percent", direction="increase", target=Target("fixed", 85.0, 5.0))
    s = judge(i, [("Oct 2017", 90.0), ("Nov 2017", 90.0), ("Dec 2017", 90.0)])
    assert s.rag == "no_data"
    assert s.reason == ("No figure for 2017/18 Q3 (percentages and rates given without numerator and denominator "
                        "cannot be added up); NO DATA.")


def test_monthly_counts_roll_up_to_quarters_and_years():
    i = ind(frequency="monthly")
    rows = [("Oct 2016", 400), ("Nov 2016", 300), ("Dec 2016", 300), ("Oct 2017", 300), ("Nov 2017", 200),
            ("Dec 2017", 100)]
    figs = figures_for(i, obs(rows))
    assert {str(p): (f.value, f.complete) for p, f in figs.items()} == {
        "2016/17 Q3": (1000.0, True), "2017/18 Q3": (600.0, True)}
    s = evaluate(i, parse_period("2017/18 Q3"), figs)
    assert (s.rag, s.value, s.comparator) == ("green", 600.0, 1000.0)
    yearly = figures_for(ind(frequency="annual"), obs([(f"2017-{m:02d}", 10) for m in range(4, 13)]
                                                     + [(f"2018-{m:02d}", 10) for m in range(1, 4)]))
    assert {str(p): (f.value, f.complete) for p, f in yearly.items()} == {"2017/18": (120.0, True)}


def test_a_figure_for_the_quarter_wins_over_its_months():
    figs = figures_for(ind(), obs([("2017/18 Q3", 500), ("Oct 2017", 1), ("Nov 2017", 1), ("Dec 2017", 1)]))
    assert figs[parse_period("2017/18 Q3")].value == 500


# --- incomplete, missing and zero comparators -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([("Oct 2017", 300), ("Nov 2017", 300)],
         "Incomplete: figures for 2 of 3 months (missing Dec 2017); not rated; NO DATA."),
        ([("Oct 2017", 300)],
         "Incomplete: figures for 1 of 3 months (missing Nov 2017, Dec 2017); not rated; NO DATA."),
        ([("Oct 2017", 300), ("Nov 2017", 300), ("Dec 2017", None)],  # a month stored without a figure is missing
         "Incomplete: figures for 2 of 3 months (missing Dec 2017); not rated; NO DATA."),
    ],
    ids=["one-missing", "two-missing", "one-blank"],
)
def test_incomplete_quarter_is_no_data(rows, reason):
    s = judge(ind(frequency="monthly"), [("Oct 2016", 1000), ("Nov 2016", 1000), ("Dec 2016", 1000), *rows])
    assert (s.rag, s.complete, s.reason) == ("no_data", False, reason)


def test_incomplete_comparator_is_no_comparator():
    s = judge(ind(frequency="monthly"), [("Oct 2016", 1000), ("Nov 2016", 1000), ("Oct 2017", 300), ("Nov 2017", 300),
                                         ("Dec 2017", 300)])
    assert (s.rag, s.complete, s.comparator) == ("no_data", True, None)
    assert s.reason == "900, but no comparator: no figure for 2016/17 Q3; NO DATA."


@pytest.mark.parametrize(
    ("rows", "reason", "complete"),
    [
        ([("2017/18 Q3", 900)], "900, but no comparator: no figure for 2016/17 Q3; NO DATA.", True),
        ([("2016/17 Q3", 1000)], "No figure for 2017/18 Q3; NO DATA.", False),
        ([], "No figure for 2017/18 Q3; NO DATA.", False),
        ([("2016/17 Q3", 0), ("2017/18 Q3", 100)],
         "100 against 0 in 2016/17 Q3: a % change cannot be computed; NO DATA.", True),
    ],
    ids=["no-comparator", "no-figure", "nothing", "zero-comparator"],
)
def test_no_data(rows, reason, complete):
    s = judge(ind(), rows)
    assert (s.rag, s.reason, s.complete) == ("no_data", reason, complete)


# --- cumulative year-to-date -----------------------------------------------------------------------------------

CUM = Target("cumulative", 20.0 * M, 25.0)  # 20 million by the year end, so the year to date's interval is narrow


@pytest.mark.parametrize(
    ("rows", "period", "ytd", "due", "rag", "amber_reason"),
    [
        ([("2017/18 Q1", 5_010_000)], "2017/18 Q1", 5_010_000, 5 * M, "green", None),
        ([("2017/18 Q1", 5 * M)], "2017/18 Q1", 5 * M, 5 * M, "amber", "could_be_chance"),  # exactly what is due
        ([("2017/18 Q1", 4 * M)], "2017/18 Q1", 4 * M, 5 * M, "amber", "within_tolerance"),  # 20% short of 5M
        ([("2017/18 Q1", 3 * M)], "2017/18 Q1", 3 * M, 5 * M, "red", None),  # 40% short
        ([("2017/18 Q1", 5 * M), ("2017/18 Q2", 5_020_000)], "2017/18 Q2", 10_020_000, 10 * M, "green", None),
        ([("2017/18 Q1", 4 * M), ("2017/18 Q2", 4 * M)], "2017/18 Q2", 8 * M, 10 * M, "amber", "within_tolerance"),
        ([("2017/18 Q1", 3 * M), ("2017/18 Q2", 4.5 * M)], "2017/18 Q2", 7.5 * M, 10 * M, "amber",
         "within_tolerance"),  # exactly 25% short
        ([("2017/18 Q1", 3 * M), ("2017/18 Q2", 4 * M)], "2017/18 Q2", 7 * M, 10 * M, "red", None),
        ([("2017/18 Q1", 0), ("2017/18 Q2", 0), ("2017/18 Q3", 16 * M)], "2017/18 Q3", 16 * M, 15 * M, "green", None),
        ([("2017/18 Q1", 5 * M), ("2017/18 Q2", 5 * M), ("2017/18 Q3", 5 * M), ("2017/18 Q4", 4 * M)], "2017/18 Q4",
         19 * M, 20 * M, "amber", "within_tolerance"),
        ([("2016/17 Q4", 50 * M), ("2017/18 Q1", 1 * M)], "2017/18 Q1", 1 * M, 5 * M, "red", None),  # last year not
    ],
    ids=["Q1-green", "Q1-at-due", "Q1-amber", "Q1-red", "Q2-green", "Q2-amber", "Q2-amber-edge", "Q2-red", "Q3-green",
         "Q4-amber", "new-year"],
)
def test_cumulative_pro_rata(rows, period, ytd, due, rag, amber_reason):
    s = judge(ind(direction="increase", target=CUM, small_numbers=0), rows, period)
    assert (s.rag, s.amber_reason, s.value, s.target) == (rag, amber_reason, ytd, due)
    assert (s.lower, s.upper, s.interval_method) == (*(pytest.approx(x) for x in garwood(ytd)),
                                                    "exact Poisson (Garwood)")


@pytest.mark.parametrize(
    ("q1", "due"),
    [(5, 5), (3, 5), (1, 5)],  # 1 of 5 due is 80% short, but the interval of 1 (0.03-5.6) holds 5
    ids=["at-due", "40%-short", "80%-short"],
)
def test_cumulative_on_small_counts_could_be_chance(q1, due):
    lo, hi = garwood(q1)
    assert lo <= due <= hi
    s = judge(ind(direction="increase", target=Target("cumulative", 20.0, 25.0), small_numbers=0),
              [("2017/18 Q1", q1)], "2017/18 Q1")
    assert (s.rag, s.amber_reason, s.target) == ("amber", "could_be_chance", due)


def test_cumulative_reason():
    i = ind(direction="increase", target=Target("cumulative", 20.0, 25.0))
    s = judge(i, [("2017/18 Q1", 5), ("2017/18 Q2", 5)], "2017/18 Q2")
    assert s.reason == ("10 so far in 2017/18 against 10 due by Q2 (20 by the year end), met on its face, but that "
                        "could be chance: 95% range 5-18; AMBER.")
    assert s.target_text == "20 by the end of the financial year, judged pro rata"
    s = judge(ind(direction="increase", target=CUM), [("2017/18 Q1", 5 * M), ("2017/18 Q2", 5_020_000)], "2017/18 Q2")
    assert s.reason == ("10,020,000 so far in 2017/18 against 10,000,000 due by Q2 (20,000,000 by the year end); "
                        "95% range 10,013,797-10,026,206, so met beyond chance; GREEN.")


@pytest.mark.parametrize(
    ("ytd", "rag", "amber_reason"),
    [(49_980_000, "green", None), (50 * M, "amber", "could_be_chance"), (55 * M, "amber", "within_tolerance"),
     (55_010_000, "red", None)],
    ids=str,
)
def test_cumulative_decrease(ytd, rag, amber_reason):
    # at most 100M a year, 10% tolerance: 50M due by Q2; up to 10% over is amber
    s = judge(ind(target=Target("cumulative", 100.0 * M, 10.0)), [("2017/18 Q1", 25 * M), ("2017/18 Q2", ytd - 25 * M)],
              "2017/18 Q2")
    assert (s.rag, s.amber_reason, s.target) == (rag, amber_reason, 50 * M)


def test_cumulative_needs_every_quarter_so_far():
    s = judge(ind(direction="increase", target=CUM), [("2017/18 Q2", 10)], "2017/18 Q2")
    assert (s.rag, s.target) == ("no_data", 10 * M)
    assert (s.lower, s.upper, s.interval_method) == (None, None, None)
    assert s.reason == "No figure for 2017/18 Q1, so the year to date cannot be totalled; NO DATA."


def test_cumulative_annual_indicator_is_due_in_full():
    i = ind(direction="increase", frequency="annual", target=Target("cumulative", 20.0, 25.0), small_numbers=0)
    s = judge(i, [("2017/18", 16)], "2017/18 Q4")
    # 20% short of 20, not 'green against 5'
    assert (s.rag, s.amber_reason, s.target, s.rated_period) == ("amber", "within_tolerance", 20, "2017/18")
    assert s.reason == ("16 so far in 2017/18 against 20 due by the year end: short of the target, but within the "
                        "tolerance; AMBER.")


# --- monitor only ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("direction", "rows", "reason"),
    [
        ("neutral", [("2016/17 Q3", 100), ("2017/18 Q3", 120)],
         "Monitor only: 120; up 20% on 2016/17 Q3 (100 → 120); MONITOR."),
        ("neutral", [("2017/18 Q3", 120)], "Monitor only: 120; MONITOR."),
        ("decrease", [("2016/17 Q3", 100), ("2017/18 Q3", 90)],
         "Monitor only: 90; down 10% on 2016/17 Q3 (100 → 90); MONITOR."),
    ],
    ids=["neutral-travel", "neutral-alone", "decrease-no-target"],
)
def test_monitor(direction, rows, reason):
    s = judge(ind(direction=direction, target=Target("none")), rows)
    assert (s.rag, s.reason, s.target, s.target_text) == ("monitor", reason, None, "none (monitor only)")


def test_monitor_without_a_figure_is_no_data():
    assert judge(ind(direction="neutral", target=Target("none")), []).rag == "no_data"


# --- annual indicators -----------------------------------------------------------------------------------------

ANNUAL = dict(unit="percent", frequency="annual", direction="increase", target=Target("fixed", 85.0, 3.0),
              small_numbers=100)


def test_annual_indicator_shows_the_latest_year():
    s = judge(ind(**ANNUAL), [("2015/16", (8000, 10000)), ("2016/17", (8700, 10000))], "2017/18 Q2")
    assert (s.period, s.rated_period, s.rag, s.comparator_period) == ("2017/18 Q2", "2016/17", "green", "2015/16")
    assert s.value == pytest.approx(87.0)
    assert s.notes[0] == "Annual measure: 2017/18 not yet available; showing 2016/17."
    # the Wilson interval of 8,700 of 10,000 is 86.3%-87.6%, wholly above 85%
    assert s.reason == ("87% against a target of at least 85% (amber to 82%); 95% range 86%-88%, so met beyond "
                        "chance; up 7.0 points on 2015/16 (80% → 87%); GREEN.")


def test_annual_indicator_uses_the_current_year_when_there():
    rows = [("2015/16", (8000, 10000)), ("2016/17", (8700, 10000)), ("2017/18", (8300, 10000))]
    s = judge(ind(**ANNUAL), rows, "2017/18 Q2")
    assert (s.rated_period, s.rag, s.amber_reason) == ("2017/18", "amber", "within_tolerance")
    assert not any(n.startswith("Annual measure") for n in s.notes)


def test_annual_indicator_with_no_year_yet():
    s = judge(ind(**ANNUAL), [("2018/19", (900, 1000))], "2017/18 Q2")
    assert (s.rated_period, s.rag) == ("2017/18", "no_data")


@pytest.mark.parametrize(("frequency", "grain"), [("monthly", "quarter"), ("quarterly", "quarter"),
                                                  ("annual", "year")])
def test_rated_grain(frequency, grain):
    assert rated_grain(ind(frequency=frequency)) == grain


# --- target text -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("kw", "text"),
    [
        (dict(target=Target("change", -5.0, 5.0)), "a 5% fall"),
        (dict(direction="increase", target=Target("change", 10.0, 10.0)), "a 10% rise"),
        (dict(target=Target("change", -2.5, 5.0)), "a 2.5% fall"),
        (dict(target=Target("change", 0.0, 5.0)), "no change"),
        (dict(direction="increase", target=Target("fixed", 25.0, 5.0)), "at least 25"),
        (dict(target=Target("fixed", 0.0, 1.0)), "at most 0"),
        (dict(unit="percent", decimals=1, direction="increase", target=Target("fixed", 85.0)), "at least 85.0%"),
        (dict(target=Target("cumulative", 20.0, 25.0)), "20 by the end of the financial year, judged pro rata"),
        (dict(target=Target("none")), "none (monitor only)"),
    ],
    ids=["fall", "rise", "half", "no-change", "at-least", "at-most", "percent", "cumulative", "none"],
)
def test_target_text(kw, text):
    assert target_text(ind(**kw)) == text


# --- roll-up and headline --------------------------------------------------------------------------------------

def st(rag: str, priority: str = "A", indicator: str = "X") -> Status:
    return Status(indicator=indicator, priority=priority, period="2017/18 Q3", value=None, target=None,
                  comparator=None, rag=rag, complete=True, variation=None, assurance=None, reason="")


ROLLUPS = [
    ("all-three", ["green", "amber", "red"], "red", "red"),
    ("two-green-one-red", ["green", "green", "red"], "red", "green"),
    ("green-amber-tie", ["green", "amber"], "amber", "amber"),
    ("green-red-tie", ["green", "red"], "red", "red"),
    ("amber-red-tie", ["amber", "amber", "red", "red", "green"], "red", "red"),
    ("all-green", ["green", "green"], "green", "green"),
    ("unrated-never-decide", ["green", "green", "amber", "no_data", "no_data", "no_data", "monitor"], "amber", "green"),
    ("only-unrated", ["monitor", "no_data"], "no_data", "no_data"),
    ("nothing", [], "no_data", "no_data"),
]


@pytest.mark.parametrize(("rags", "worst", "majority"), [r[1:] for r in ROLLUPS], ids=[r[0] for r in ROLLUPS])
def test_rollup_rules(rags, worst, majority):
    statuses = [st(r, indicator=f"A{n}") for n, r in enumerate(rags)] + [st("red", "B")]  # other priorities ignored
    for rule, overall in (("worst", worst), ("majority", majority)):
        r = rollup("A", statuses, rule)
        assert r.overall == overall, rule
        assert r.counts == {k: rags.count(k) for k in RAGS}
        assert r.indicators == tuple(f"A{n}" for n in range(len(rags)))


def test_rollup_reason_and_dict():
    r = rollup("A", [st("green"), st("amber"), st("monitor")], "worst")
    assert r.reason == "1 green · 1 amber · 1 monitor; the worst rated indicator decides; AMBER."
    assert rollup("A", [st("green"), st("red"), st("red")], "majority").reason == (
        "1 green · 2 red; the most common rated status decides, ties to the worse; RED.")
    assert r.as_dict() == {"priority": "A", "overall": "amber", "rule": "worst", "reason": r.reason, "green": 1,
                           "amber": 1, "red": 0, "no_data": 0, "monitor": 1, "indicators": ["X", "X", "X"]}


@pytest.mark.parametrize(
    ("rags", "priority", "text"),
    [
        (["green"] * 9 + ["amber"] * 4 + ["red"] * 2 + ["no_data"], None, "9 green · 4 amber · 2 red · 1 no data"),
        (["red", "green", "monitor"], None, "1 green · 1 red · 1 monitor"),
        (["green", "green"], "B", "no indicators"),
        ([], None, "no indicators"),
    ],
    ids=["spec", "order-and-zeros", "other-priority", "empty"],
)
def test_headline(rags, priority, text):
    assert headline([st(r) for r in rags], priority) == text


# --- the whole catalogue ---------------------------------------------------------------------------------------

def test_evaluate_all_over_the_shipped_catalogue(shipped):
    observations = {"A1": obs([("2016/17 Q3", 3912), ("2017/18 Q3", 3443)]),
                    "B5": obs([("Oct 2017", 50), ("Nov 2017", 60), ("Dec 2017", 70)])}
    statuses = evaluate_all(shipped, parse_period("2017/18 Q3"), observations)
    by_id = {s.indicator: s for s in statuses}
    assert len(statuses) == 25
    assert (by_id["A1"].rag, by_id["B5"].rag, by_id["B5"].value) == ("green", "monitor", 180.0)
    assert {s.rag for i, s in by_id.items() if i not in ("A1", "B5")} == {"no_data"}
    d = by_id["A1"].as_dict()
    assert {"indicator", "priority", "period", "value", "comparator", "target", "rag", "complete", "reason",
            "notes"} <= set(d)
    assert isinstance(d["notes"], list)


def test_annual_indicator_skips_a_part_year():
    i = ind(frequency="annual", direction="increase", target=Target("fixed", 100.0, 10.0), small_numbers=0)
    rows = [("2016/17", 150), ("Apr 2017", 10), ("May 2017", 10)]  # the interval of 150 (127-176) is above 100
    s = judge(i, rows, "2017/18 Q1")
    assert (s.rated_period, s.rag, s.value) == ("2016/17", "green", 150)
    assert s.notes[0] == "Annual measure: 2017/18 not yet available; showing 2016/17."
    only_part = judge(i, rows[1:], "2017/18 Q1")  # no complete year at all: the part-year is shown, not rated
    assert (only_part.rated_period, only_part.rag, only_part.complete) == ("2017/18", "no_data", False)
