"""Tests for cspdash.spc: XmR limits, the four special-cause rules, point types and assurance."""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from cspdash import spc
from cspdash.errors import CspdashError

IMP, CON, CC = "special_cause_improvement", "special_cause_concern", "common_cause"
HIGH, LOW = "special_cause_neutral_high", "special_cause_neutral_low"
C = 2.0  # with mean 0 and mr_bar 1: beyond the near-limit band (1.7733) but inside the limits (2.66)
c = 0.5  # with mean 0 and mr_bar 1: above the mean, inside the near-limit band

# set.seed(123); rnorm(20) in R: the data behind NHSRplotthedots' own snapshot tests
RNORM_123 = [
    -0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774, 1.71506499, 0.46091621,
    -1.26506123, -0.68685285, -0.44566197, 1.22408180, 0.35981383, 0.40077145, 0.11068272,
    -0.55584113, 1.78691314, 0.49785048, -1.96661716, 0.70135590, -0.47279141,
]  # fmt: skip


def types(values, improvement="increase", target=None) -> list[str]:
    """Point types of compute(values) as a plain list."""
    return spc.compute(values, improvement, target).points["point_type"].tolist()


# --- limits -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "mean", "mr_bar", "lpl", "upl", "near_lpl", "near_upl", "screened"),
    [
        # mean 60/5 = 12; MRs 2,1,2,1 -> 1.5 (3.267 x 1.5 = 4.90, none screened);
        # limits 12 -/+ 2.66 x 1.5 = 12 -/+ 3.99; near band 12 -/+ (2/3)(3.99) = 12 -/+ 2.66
        ([10, 12, 11, 13, 14], 12.0, 1.5, 8.01, 15.99, 9.34, 14.66, 0),
        # mean 90/6 = 15; MRs 2,1,2,1,16 -> 4.4; 16 >= 3.267 x 4.4 = 14.37 is screened out;
        # mr_bar = (2+1+2+1)/4 = 1.5; limits 15 -/+ 3.99; near band 15 -/+ 2.66
        ([10, 12, 11, 13, 14, 30], 15.0, 1.5, 11.01, 18.99, 12.34, 17.66, 1),
        # two points: mean 5, one MR of 4 (4 < 3.267 x 4, kept); limits 5 -/+ 10.64
        ([3, 7], 5.0, 4.0, -5.64, 15.64, 5 - 2 * 2.66 / 3 * 4, 5 + 2 * 2.66 / 3 * 4, 0),
        # mean 26/5 = 5.2; MRs 0,0,0,1 -> 0.25; 1 >= 0.817 screened; mr_bar 0: limits on the mean
        ([5, 5, 5, 5, 6], 5.2, 0.0, 5.2, 5.2, 5.2, 5.2, 1),
        # NHSRplotthedots tests/testthat/_snaps/ptd_spc_standard.md (r1): 0.1416238, -3.01138, 3.294627
        (RNORM_123, 0.1416238, None, -3.01138, 3.294627, None, None, None),
        # same snapshot (r2, y[15] <- 10, screen_outliers = TRUE): 0.6694159, -2.383666, 3.722497
        ([*RNORM_123[:14], 10, *RNORM_123[15:]], 0.6694159, None, -2.383666, 3.722497, None, None, None),
    ],
)
def test_limits(values, mean, mr_bar, lpl, upl, near_lpl, near_upl, screened):
    r = spc.compute(values, "increase")
    approx = pytest.approx  # the snapshot values are printed to 7 significant figures
    assert r.mean == approx(mean, abs=1e-6)
    assert r.lpl == approx(lpl, abs=1e-5)
    assert r.upl == approx(upl, abs=1e-5)
    if mr_bar is not None:
        assert (r.mr_bar, r.near_lpl, r.near_upl, r.screened_out) == (
            approx(mr_bar),
            approx(near_lpl),
            approx(near_upl),
            screened,
        )
    assert (r.points["mean"] == r.mean).all()
    assert (r.points["lpl"] == r.lpl).all() and (r.points["upl"] == r.upl).all()


def test_reference_snapshot_series_is_all_common_cause():
    # NHSRplotthedots _snaps/ptd_spc.md: n = 20, common_cause = 20 for the same data
    r = spc.compute(RNORM_123, "increase")
    assert r.points["point_type"].tolist() == [CC] * 20
    assert r.variation == CC


@pytest.mark.parametrize(
    ("mr", "factor", "expected", "screened"),
    [
        ([2, 1, 2, 1], spc.SCREEN_FACTOR, 1.5, 0),
        ([2, 1, 2, 1, 16], spc.SCREEN_FACTOR, 1.5, 1),
        # mean 2; with factor 2 the cut-off is 4: 4 is screened (>=), 3.99 is kept (<)
        ([1, 1, 4, 2], 2, (1 + 1 + 2) / 3, 1),
        ([1, 1, 3.99, 2.01], 2, 2.0, 0),
        # all zero: every MR is >= 3.267 x 0, all screened; mean of nothing is NaN (as R's mean(na.rm = TRUE))
        ([0, 0, 0], spc.SCREEN_FACTOR, math.nan, 3),
        ([], spc.SCREEN_FACTOR, math.nan, 0),
    ],
)
def test_mean_moving_range_screening(mr, factor, expected, screened):
    got, n_screened = spc.mean_moving_range(mr, factor)
    assert got == pytest.approx(expected, nan_ok=True)
    assert n_screened == screened


def test_moving_ranges():
    assert spc.moving_ranges([3, 7, 2, 2]).tolist() == [4, 5, 0]
    assert spc.moving_ranges([5]).tolist() == []


# --- rule 1: outside the limits -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "mean", "mr_bar", "expected"),
    [
        ([2.67, 0, -2.67], 0, 1, [1, 0, -1]),
        ([2.66, -2.66, 2.65], 0, 1, [0, 0, 0]),  # exactly on a limit is not outside (strict)
        ([4, 5, 6], 5, 0, [-1, 0, 1]),  # mr_bar 0: limits on the mean; the point on it is not outside
        ([1, 2], 1.5, math.nan, [0, 0]),  # no limits: nothing outside
        ([], 0, 1, []),
    ],
)
def test_outside_limits(values, mean, mr_bar, expected):
    assert spc.outside_limits(values, mean, mr_bar).tolist() == expected


# --- rule 2: trend of 7 points (6 consecutive rises or falls) -------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 2, 3, 4, 5, 6], [0] * 6),  # 6 rising points (5 rises): not a trend
        ([1, 2, 3, 4, 5, 6, 7], [1] * 7),  # 7 rising points (6 rises): a trend, all 7 flagged
        ([7, 6, 5, 4, 3, 2, 1], [-1] * 7),
        ([1, 2, 3, 4, 5, 6, 7, 8], [1] * 8),
        ([1, 2, 3, 3, 4, 5, 6], [0] * 7),  # a tie breaks the trend
        ([1, 2, 3, 3, 4, 5, 6, 7, 8, 9], [0, 0, 0] + [1] * 7),
        ([2, 1, 2, 3, 4, 5, 6, 7, 3], [0] + [1] * 7 + [0]),  # reference test: c(2, 1:7, 3)
        ([2, 7, 6, 5, 4, 3, 2, 1, 3], [0] + [-1] * 7 + [0]),  # reference test: c(2, 7:1, 3)
        # peak shared by a rising and a falling trend: R uses the step to its right -> falling
        ([1, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2, 1], [1] * 6 + [-1] * 7),
        # reference quirk: the last point of one trend followed by a tie that starts another trend takes
        # the (zero) step to its right, and R labels any step other than +1 "Decreasing"
        ([1, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11, 12, 13], [1] * 6 + [-1] + [1] * 7),
        ([], []),
    ],
)
def test_trend(values, expected):
    assert spc.trend(values).tolist() == expected


# --- rule 3: 2 of 3 beyond the near-limit band, all 3 on one side --------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([C, c, C], [1, 0, 1]),  # only the points beyond the band are flagged
        ([c, C, C], [0, 1, 1]),
        ([C, C, c], [1, 1, 0]),
        ([-C, -c, -C], [-1, 0, -1]),
        ([C, -c, C], [0, 0, 0]),  # 2 beyond the band but not all 3 on the same side
        ([C, 0, C], [0, 0, 0]),  # the middle point is on the mean: not all 3 on one side
        ([C, -C, c], [0, 0, 0]),  # beyond the band on opposite sides
        ([C, c, c, C], [0, 0, 0, 0]),  # only 1 of any 3
        ([C, c, c, C, C], [0, 0, 0, 1, 1]),  # reference test (iv)
        ([c, c, C, c, C, c, c], [0, 0, 1, 0, 1, 0, 0]),  # reference test (fv)
        ([3, C, c], [0, 0, 0]),  # 3 > 2.66 is outside the limits, and R does not count it as close
        ([spc.NEAR_LIMIT, c, spc.NEAR_LIMIT], [0, 0, 0]),  # exactly on the band edge is not beyond it
        ([C, C], [0, 0]),  # fewer than 3 points
    ],
)
def test_two_in_three(values, expected):
    assert spc.two_in_three(values, 0.0, 1.0).tolist() == expected


def test_two_in_three_without_limits_never_fires():
    assert spc.two_in_three([5, 5, 5], 5.0, math.nan).tolist() == [0, 0, 0]


# --- rule 4: run of 7 on one side of the mean ----------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1] * 6, [0] * 6),  # 6 on one side: no run
        ([1] * 7, [1] * 7),  # 7 on one side: all 7 flagged
        ([-1] * 7, [-1] * 7),
        ([1] * 6 + [-1], [0] * 7),  # reference test
        ([1] * 8 + [-1], [1] * 8 + [0]),  # reference test: runs longer than 7 are flagged in full
        ([-1] + [1] * 7, [0] + [1] * 7),
        ([1, 1, 1, 0, 1, 1, 1], [0] * 7),  # a point exactly on the mean breaks the run
        ([1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1], [0] * 4 + [1] * 7),
        ([0] * 8, [0] * 8),  # every point on the mean: never a run
        ([], []),
    ],
)
def test_run_one_side(values, expected):
    assert spc.run_one_side(values, 0.0).tolist() == expected


# --- priority and naming -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "label", "direction"),
    [
        ((1, -1, -1, -1), "Above UCL", 1),
        ((-1, 1, 1, 1), "Below LCL", -1),
        ((0, -1, 1, 1), "7 Point Trend (Decreasing)", -1),
        ((0, 1, -1, -1), "7 Point Trend (Increasing)", 1),
        ((0, 0, -1, 1), "2 in 3 Below CL", -1),
        ((0, 0, 1, -1), "2 in 3 Above CL", 1),
        ((0, 0, 0, 1), "7 Points Above CL", 1),
        ((0, 0, 0, -1), "7 Points Below CL", -1),
        ((0, 0, 0, 0), "Common Cause", 0),
    ],
)
def test_combine_priority(rules, label, direction):
    directions, labels = spc.combine(*(np.array([r], dtype=np.int8) for r in rules))
    assert (labels, directions.tolist()) == ((label,), [direction])


@pytest.mark.parametrize(
    ("direction", "improvement", "expected"),
    [
        (1, "increase", IMP),
        (-1, "increase", CON),
        (1, "decrease", CON),
        (-1, "decrease", IMP),
        (1, "neutral", HIGH),
        (-1, "neutral", LOW),
        (0, "increase", CC),
        (0, "decrease", CC),
        (0, "neutral", CC),
    ],
)
def test_point_type(direction, improvement, expected):
    assert spc.point_type(direction, improvement) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # mean 4, MRs all 1 -> limits 4 -/+ 2.66 = 1.34, 6.66: 1 and 7 are outside the limits, which beats
        # their part in the rising trend (for point 1: below LCL = concern, though the trend is rising)
        ([1, 2, 3, 4, 5, 6, 7], [CON, IMP, IMP, IMP, IMP, IMP, IMP]),
        # mean 148.5/14 = 10.607; MRs 0.5 x6, 8, 4 x6 -> 35/13 = 2.692 (none screened); near band
        # 10.607 -/+ 4.774 = 5.833, 15.382; limits 3.446, 17.769. The first 8 points fall (a decreasing
        # trend), which beats "2 in 3 above" (16, 15.5) and "7 points above the mean" (the first 7):
        # all concern. Then 9s are a run below the mean and the 5s are 2 in 3 below: concern.
        ([16, 15.5, 15, 14.5, 14, 13.5, 13, 5, 9, 5, 9, 5, 9, 5], [CON] * 14),
        # mean 15, limits 11.01, 18.99, near band 12.34, 17.66 (see test_limits): 10 and 11 are outside,
        # so 12 (beyond the band) has no second close point in any 3: not a 2-in-3
        ([10, 12, 11, 13, 14, 30], [CON, CC, CON, CC, CC, IMP]),
    ],
)
def test_priority_end_to_end(values, expected):
    assert types(values) == expected


def test_trend_priority_labels():
    r = spc.compute([16, 15.5, 15, 14.5, 14, 13.5, 13, 5, 9, 5, 9, 5, 9, 5], "increase")
    assert r.special_cause_types == (("7 Point Trend (Decreasing)",) * 8 + ("7 Points Below CL", "2 in 3 Below CL") * 3)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # mean 63/12 = 5.25; MRs 8,8,8,5,0x6,5 -> 34/11 = 3.09, none screened; limits -2.97, 13.47,
        # near band -0.23, 10.73: nothing outside or close; seven 6s above the mean -> a run
        ([9, 1, 9, 1, 6, 6, 6, 6, 6, 6, 6, 1], [CC] * 4 + [IMP] * 7 + [CC]),
        # same with six 6s: mean 57/11 = 5.18, MRs 34/10 = 3.4; limits -3.86, 14.23: no run
        ([9, 1, 9, 1, 6, 6, 6, 6, 6, 6, 1], [CC] * 11),
        # mean 55/11 = 5 exactly; MRs 8,8,2,3,0,0,1,1,0,0 -> 2.3, the 8s (>= 7.51) screened -> 7/8 = 0.875;
        # limits 5 -/+ 2.3275 = 2.6725, 7.3275: the 1s and 9 are outside; the 5 sits on the mean and
        # splits the 6s into two runs of 3
        ([1, 9, 1, 3, 6, 6, 6, 5, 6, 6, 6], [CON, IMP, CON] + [CC] * 8),
    ],
)
def test_run_end_to_end(values, expected):
    assert types(values) == expected


def test_two_in_three_opposite_sides_reference_case():
    # NHSRplotthedots test-ptd_spc_standard.R: rep(c(1, -1), 8) with y[15] = 5.5, y[16] = -5.5.
    # mean 0; MRs 2 x13, 6.5, 11 -> 2.9; 11 >= 9.47 screened -> 32.5/14 = 2.321; limits -/+ 6.175,
    # near band -/+ 4.117: both last points are beyond the band, but on opposite sides -> common cause
    values = [1, -1] * 7 + [5.5, -5.5]
    assert types(values)[-2:] == [CC, CC]


@pytest.mark.parametrize(
    ("improvement", "expected"),
    [
        # mean 5.2, mr_bar 0 (the one MR of 1 is screened), so limits = 5.2: the 5s are below, 6 above
        ("increase", [CON] * 4 + [IMP]),
        ("decrease", [IMP] * 4 + [CON]),
        ("neutral", [LOW] * 4 + [HIGH]),
    ],
)
def test_direction_naming(improvement, expected):
    r = spc.compute([5, 5, 5, 5, 6], improvement)
    assert r.points["point_type"].tolist() == expected
    assert r.variation == expected[-1]
    assert r.special_cause_types == ("Below LCL",) * 4 + ("Above UCL",)


# --- assurance -----------------------------------------------------------------------------------

LIMITS_8_16 = [10, 12, 11, 13, 14]  # limits 8.01, 15.99 (see test_limits)


@pytest.mark.parametrize(
    ("improvement", "target", "expected"),
    [
        ("increase", 16, "consistent_fail"),  # target above the upper limit: the process cannot reach it
        ("increase", 8, "consistent_pass"),
        ("increase", 12, "inconsistent"),
        ("decrease", 16, "consistent_pass"),
        ("decrease", 8, "consistent_fail"),
        ("decrease", 12, "inconsistent"),
        ("neutral", 16, None),
        ("neutral", 8, None),
        ("increase", None, None),
        ("decrease", None, None),
    ],
)
def test_assurance(improvement, target, expected):
    assert spc.compute(LIMITS_8_16, improvement, target).assurance == expected


@pytest.mark.parametrize("improvement", ["increase", "decrease"])
def test_assurance_target_on_a_limit_is_inconsistent(improvement):
    r = spc.compute(LIMITS_8_16, improvement)
    assert spc.compute(LIMITS_8_16, improvement, r.upl).assurance == "inconsistent"
    assert spc.compute(LIMITS_8_16, improvement, r.lpl).assurance == "inconsistent"


@pytest.mark.parametrize(
    ("target", "expected"),
    [(Decimal("16"), "consistent_fail"), (np.float64(8.0), "consistent_pass"), (12, "inconsistent")],
)
def test_assurance_target_types(target, expected):
    r = spc.compute(LIMITS_8_16, "increase", target)
    assert r.assurance == expected
    assert isinstance(r.target, float)


# --- edge cases ----------------------------------------------------------------------------------


@pytest.mark.parametrize("improvement", ["increase", "decrease", "neutral"])
def test_empty_series(improvement):
    r = spc.compute([], improvement, target=5)
    assert list(r.points.columns) == ["value", "mean", "lpl", "upl", "point_type"]
    assert r.points.empty and isinstance(r.points.index, pd.RangeIndex)
    assert (r.variation, r.assurance, r.n, r.special_cause_types) == (None, None, 0, ())
    assert math.isnan(r.mean) and math.isnan(r.lpl) and math.isnan(r.upl) and math.isnan(r.mr_bar)
    assert "No points: nothing to judge." in r.notes


def test_one_point():
    r = spc.compute([7.5], "increase", target=3)
    row = r.points.iloc[0]
    assert (row["value"], row["mean"], row["point_type"]) == (7.5, 7.5, CC)
    assert math.isnan(row["lpl"]) and math.isnan(row["upl"]) and math.isnan(r.mr_bar)
    assert (r.variation, r.assurance, r.n) == (CC, None, 1)
    assert "Fewer than 2 points: no process limits." in r.notes
    assert "No process limits: the target cannot be assessed." in r.notes


@pytest.mark.parametrize("n", [8, 20])
def test_flat_series(n):
    # every MR is 0 and 0 >= 3.267 x 0, so NHSRplotthedots screens all of them out and its mean moving
    # range is NaN (mean() of nothing): no limits. No point is flagged: none can be outside NaN limits,
    # every point is on the mean (no run), and equal values are no trend.
    r = spc.compute([4] * n, "increase", target=3)
    assert r.points["point_type"].tolist() == [CC] * n
    assert r.mean == 4 and r.points["value"].tolist() == [4.0] * n
    assert math.isnan(r.mr_bar) and math.isnan(r.lpl) and math.isnan(r.upl)
    assert r.assurance is None and r.screened_out == n - 1
    assert any("Every value is the same" in note for note in r.notes)


def test_limits_on_the_mean_point_on_a_limit_is_not_outside():
    # mean 50/10 = 5; MRs 1,0 x7,1 -> 2/9 = 0.222; both 1s >= 0.726 screened -> mr_bar 0, limits 5, 5.
    # 4 < 5 and 6 > 5 are outside; the 5s equal both limits (strict test: not outside) and sit on the
    # mean (no run of 7 one side)
    r = spc.compute([4, 5, 5, 5, 5, 5, 5, 5, 5, 6], "increase")
    assert (r.mr_bar, r.lpl, r.upl) == (0.0, 5.0, 5.0)
    assert r.points["point_type"].tolist() == [CON] + [CC] * 8 + [IMP]
    assert any("limits sit on the mean" in note for note in r.notes)


@pytest.mark.parametrize(
    ("values", "present", "absent"),
    [
        ([1, 2], "Fewer than 3 points: the 2-of-3 near-limit rule cannot fire yet.", None),
        ([1, 2, 3, 4, 5, 6], "Fewer than 7 points: the run and trend rules cannot fire yet.", None),
        ([1, 3, 2, 4, 3, 5, 4], None, "Fewer than 7 points: the run and trend rules cannot fire yet."),
        ([1, 3, 2, 4, 3, 5, 4], "Fewer than 12 points: these are trial limits", None),
        (list(range(12)), None, "Fewer than 12 points: these are trial limits"),
    ],
)
def test_notes(values, present, absent):
    notes = spc.compute(values, "increase").notes
    if present:
        assert any(note.startswith(present) for note in notes)
    if absent:
        assert not any(note.startswith(absent) for note in notes)


def test_six_points_only_the_rules_that_can_fire():
    # 6 rising points: no trend or run yet; mean 3.5, MRs all 1, limits 0.84, 6.16: nothing outside
    assert types([1, 2, 3, 4, 5, 6]) == [CC] * 6


def test_neutral_target_note_and_no_assurance():
    r = spc.compute(LIMITS_8_16, "neutral", target=100)
    assert r.assurance is None
    assert "Improvement direction is neutral: the target is not assessed." in r.notes


# --- input handling and validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        [10, 12, 11, 13, 14],
        (10, 12, 11, 13, 14),
        np.array([10, 12, 11, 13, 14]),
        np.array([10.0, 12.0, 11.0, 13.0, 14.0], dtype=np.float32),
        pd.Series([10, 12, 11, 13, 14], index=list("abcde")),
        pd.Series([10, 12, 11, 13, 14], dtype="Int64"),
        pd.Series([10, 12, 11, 13, 14], dtype=object),
        [Decimal("10"), 12.0, np.int64(11), 13, np.float64(14)],
        (v for v in [10, 12, 11, 13, 14]),
    ],
)
def test_accepted_inputs(values):
    r = spc.compute(values, "increase")
    assert r.points["value"].tolist() == [10.0, 12.0, 11.0, 13.0, 14.0]
    assert isinstance(r.points.index, pd.RangeIndex) and r.points.index.tolist() == [0, 1, 2, 3, 4]
    assert r.points["value"].dtype == np.float64


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([1, None, 3], "position 1"),
        ([1, 2, float("nan")], "position 2"),
        (np.array([1.0, np.nan]), "position 1"),
        (np.array([1.0, 2.0, np.inf]), "position 2"),
        (pd.Series([1.0, 2.0, np.nan], index=[10, 20, 30]), "position 2"),
        (pd.Series([1, pd.NA, 3], dtype="Int64"), "position 1"),
        ([pd.NA, 1], "position 0"),
        ([1, "2"], "position 1"),
        ([True, 2], "position 0"),
        ([1, 2 + 0j], "position 1"),
        ("123", "sequence of numbers"),
        (5, "sequence of numbers"),
        (np.array([[1, 2], [3, 4]]), "one-dimensional"),
        (np.array([True, False]), "dtype bool"),
    ],
)
def test_invalid_values(values, message):
    with pytest.raises(ValueError, match=message):
        spc.compute(values, "increase")


@pytest.mark.parametrize("improvement", ["up", "Increase", "", None, 1])
def test_invalid_improvement(improvement):
    with pytest.raises(ValueError, match=r"'increase', 'decrease', 'neutral'; got") as info:
        spc.compute([1, 2, 3], improvement)
    assert repr(improvement) in str(info.value)


@pytest.mark.parametrize("target", [float("nan"), float("inf"), "5", True, [5]])
def test_invalid_target(target):
    with pytest.raises(ValueError, match="target"):
        spc.compute([1, 2, 3], "increase", target)


def test_errors_are_cspdash_errors():
    with pytest.raises(CspdashError):
        spc.compute([1, None], "increase")
    assert issubclass(spc.SPCInputError, ValueError)


def test_result_is_frozen():
    r = spc.compute([1, 2, 3], "increase")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.variation = "x"  # type: ignore[misc]
