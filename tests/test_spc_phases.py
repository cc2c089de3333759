"""Tests for cspdash.spc phases: rebase_at and fix_after_n_points, rules derived from NHSRplotthedots.

R ptd_spc_standard groups by rebase_group = cumsum(rebase) and sets fix_y = y for row_number() <= N, so each phase
has its own mean and moving ranges (the first of a phase has none); ptd_calculate_point_type groups the same way,
so no rule window crosses a phase; ptd_calculate_assurance_type judges the target on the last row's limits.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cspdash import spc
from cspdash.periods import parse_period
from cspdash.status import rebase_positions

IMP, CON, CC = "special_cause_improvement", "special_cause_concern", "common_cause"
ALT = [10.0, 12.0] * 6  # mean 11, every moving range 2: mr_bar 2, limits 11 -/+ 5.32


def test_no_phases_is_the_old_chart():
    """rebase_at=() and fix_after_n_points=None give exactly the unphased result."""
    values = [3.0, 5.0, 4.0, 9.0, 2.0, 6.0, 7.0, 1.0]
    old, new = spc.compute(values, "increase", 4.0), spc.compute(values, "increase", 4.0, (), None)
    assert new.points.equals(old.points)
    assert (new.mean, new.mr_bar, new.lpl, new.upl, new.notes) == (old.mean, old.mr_bar, old.lpl, old.upl, old.notes)
    assert len(new.phases) == 1 and (new.phases[0].start, new.phases[0].stop) == (0, 8)


@pytest.mark.parametrize(
    ("values", "rebase_at"),
    [
        ([1.0, 3.0, 2.0, 4.0, 100.0, 104.0, 101.0, 103.0], [4]),  # a step: the jump's range belongs to no phase
        (ALT + [50.0, 55.0] * 5 + [7.0, 9.0, 8.0], [12, 22]),  # three phases
        ([5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0], [3]),  # a 7-point rise split 3 + 4: no trend in either phase
        ([1.0, 2.0, 9.0], [2]),  # a one-point last phase: no limits
        ([4.0, 4.0, 4.0, 8.0, 9.0, 7.0], [3]),  # a flat first phase: no limits there
    ],
)
def test_each_phase_is_its_own_chart(values, rebase_at):
    """Each phase's mean, limits, labels and point types equal compute() on that phase alone (R's group_by)."""
    res = spc.compute(values, "increase", rebase_at=rebase_at)
    starts = [0, *rebase_at]
    stops = [*rebase_at, len(values)]
    assert [(p.start, p.stop) for p in res.phases] == list(zip(starts, stops, strict=True))
    for phase, a, b in zip(res.phases, starts, stops, strict=True):
        alone = spc.compute(values[a:b], "increase")
        got = res.points.iloc[a:b].reset_index(drop=True)
        assert got.equals(alone.points), (a, b)
        assert res.special_cause_types[a:b] == alone.special_cause_types
        assert (phase.mean, phase.screened_out) == (alone.mean, alone.screened_out)
        for name in ("mr_bar", "lpl", "upl", "near_lpl", "near_upl"):
            assert math.isclose(getattr(phase, name), getattr(alone, name)) or (
                math.isnan(getattr(phase, name)) and math.isnan(getattr(alone, name))
            )


@pytest.mark.parametrize(
    ("values", "rebase_at", "means", "mr_bars"),
    [
        # phase 1: mean 2.5, MRs 2,1,2 -> 5/3; phase 2: mean 102, MRs 4,3,2 -> 3 (the 96 jump is in neither)
        ([1.0, 3.0, 2.0, 4.0, 100.0, 104.0, 101.0, 103.0], [4], [2.5, 102.0], [5 / 3, 3.0]),
        # the single point of the last phase is its mean and has no moving range
        ([1.0, 2.0, 9.0], [2], [1.5, 9.0], [1.0, math.nan]),
    ],
)
def test_phase_means_and_moving_ranges(values, rebase_at, means, mr_bars):
    """Hand-computed per-phase centre lines and mean moving ranges."""
    res = spc.compute(values, "increase", rebase_at=rebase_at)
    assert [p.mean for p in res.phases] == means
    np.testing.assert_allclose([p.mr_bar for p in res.phases], mr_bars)


def test_step_change_is_special_cause_without_rebase_and_common_cause_with_it():
    """The issue's case: a step leaves every later point outside limits that span both regimes."""
    values = ALT + [30.0, 32.0] * 6
    assert spc.compute(values, "increase").points["point_type"].iloc[12:].eq(IMP).all()
    rebased = spc.compute(values, "increase", rebase_at=[12])
    assert rebased.points["point_type"].eq(CC).all()
    assert rebased.points["mean"].tolist() == [11.0] * 12 + [31.0] * 12
    assert rebased.variation == CC


@pytest.mark.parametrize(
    ("values", "rebase_at", "expected"),
    [
        # 7 rises split 3 + 4 at position 3: no phase has 7 points, so no trend (R groups the trend rule too)
        ([5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0], [3], [CC] * 7),
        # 7 rises in one phase after a rebase: phase 2 has mean 8, limits 8 -/+ 2.66, so 5 is below its lower
        # limit (outside outranks the trend), 6..10 are the trend and 11 is above its upper limit
        ([1.0, 3.0, 1.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0], [3], [CC] * 3 + [CON] + [IMP] * 6),
    ],
)
def test_rules_stay_within_a_phase(values, rebase_at, expected):
    """Trend and run windows never span a phase boundary."""
    assert spc.compute(values, "increase", rebase_at=rebase_at).points["point_type"].tolist() == expected


def test_rebase_at_zero_changes_nothing():
    """R's cumsum(rebase) puts a rebase on the first point into the first phase: one phase, same chart."""
    values = [3.0, 5.0, 4.0, 9.0, 2.0, 6.0]
    assert spc.compute(values, "increase", rebase_at=[0]).points.equals(spc.compute(values, "increase").points)
    assert len(spc.compute(values, "increase", rebase_at=[0]).phases) == 1


def test_fixed_limits_use_only_the_first_n_points():
    """fix_after_n_points=12: mean and moving ranges from the first 12 points; later points are judged on them."""
    values = [*ALT, 13.0, 14.0, 15.0, 17.0, 16.0]
    res = spc.compute(values, "increase", fix_after_n_points=12)
    assert (res.mean, res.mr_bar) == (11.0, 2.0)
    assert math.isclose(res.upl, 11.0 + 2.66 * 2.0)
    # 17 > 16.32 is outside; 15 and 16 are beyond the fixed near-limit line (14.55) with it: 2 in 3 above;
    # 13 and 14 are above the mean but only 5 in a row, and inside the near-limit band
    assert res.points["point_type"].tolist()[12:] == [CC, CC, IMP, IMP, IMP]
    assert res.special_cause_types[14:] == ("2 in 3 Above CL", "Above UCL", "2 in 3 Above CL")
    assert res.phases[0].fixed_on == 12
    assert any("fixed on the phase's first 12 points" in note for note in res.notes)
    unfixed = spc.compute(values, "increase")
    assert unfixed.mean != 11.0  # the later points move unfixed limits


def test_fixed_limits_apply_per_phase():
    """Each phase is fixed on its own first N points; a phase shorter than N uses all its points."""
    values = ALT + [99.0] + [40.0, 42.0] * 6 + [60.0] + [1.0, 2.0, 3.0]
    res = spc.compute(values, "increase", rebase_at=[13, 26], fix_after_n_points=12)
    assert [p.mean for p in res.phases] == [11.0, 41.0, 2.0]
    assert [p.fixed_on for p in res.phases] == [12, 12, 3]
    pt = res.points["point_type"].tolist()
    assert (pt[12], pt[25]) == (IMP, IMP)  # each phase's 13th point is outside its fixed limits
    assert res.points["mean"].tolist() == [11.0] * 13 + [41.0] * 13 + [2.0] * 3


@pytest.mark.parametrize(
    ("improvement", "target", "expected"),
    [
        ("increase", 25.0, "consistent_pass"),  # last phase 31 -/+ 5.32: 25 is below its lpl (25.68)
        ("increase", 36.5, "consistent_fail"),  # above its upl (36.32); against phase 1 both would be fails
        ("decrease", 30.0, "inconsistent"),
    ],
)
def test_assurance_uses_the_last_phase(improvement, target, expected):
    """ptd_calculate_assurance_type takes the last row, so the last phase's limits."""
    values = ALT + [30.0, 32.0] * 6
    assert spc.compute(values, improvement, target, rebase_at=[12]).assurance == expected


def test_points_keep_their_columns():
    """.points has the same columns with rebasing as without."""
    res = spc.compute(ALT + [30.0, 32.0] * 6, "increase", rebase_at=[12], fix_after_n_points=12)
    assert tuple(res.points.columns) == spc.COLUMNS
    assert len(res.points) == 24


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fix_after_n_points": 11}, "fix_after_n_points must be at least 12"),
        ({"fix_after_n_points": 0}, "got 0"),
        ({"fix_after_n_points": 12.5}, "whole number"),
        ({"fix_after_n_points": True}, "whole number"),
        ({"rebase_at": [5]}, "position 5, outside the series of 5"),
        ({"rebase_at": [-1]}, "position -1, outside"),
        ({"rebase_at": [2, 2]}, "position 2 twice"),
        ({"rebase_at": [3, 2]}, "increasing order"),
        ({"rebase_at": [1.5]}, "1.5"),
        ({"rebase_at": "2"}, "sequence of 0-based positions"),
        ({"rebase_at": 2}, "sequence of 0-based positions"),
    ],
)
def test_refused_phase_arguments(kwargs, message):
    """Bad rebase positions and fix sizes raise SPCInputError naming the value."""
    with pytest.raises(spc.SPCInputError, match=message):
        spc.compute([1.0, 2.0, 3.0, 4.0, 5.0], "increase", **kwargs)


def test_empty_series_with_fix():
    """An empty series with fixing has no phases and no limits."""
    res = spc.compute([], "increase", fix_after_n_points=12)
    assert res.phases == () and res.variation is None and math.isnan(res.upl)


# --- catalogue periods to positions (cspdash.status) ------------------------------------------

Q = [parse_period(f"2012/13 Q{q}") for q in (1, 2, 3, 4)] + [parse_period("2013/14 Q2")]  # 2013/14 Q1 missing


@pytest.mark.parametrize(
    ("rebase", "expected"),
    [
        ([], ()),
        (["2012/13 Q3"], (2,)),
        (["2013/14 Q1"], (4,)),  # absent from the series: the first point after it
        (["2011/12 Q4"], (0,)),  # before the series: position 0, which starts no new phase
        (["2014/15 Q1"], ()),  # after the last point: no phase
        (["2013/14 Q1", "2013/14 Q2"], (4,)),  # both land on the same point: one phase start
        (["2012/13 Q2", "2012/13 Q4"], (1, 3)),
    ],
)
def test_rebase_positions(rebase, expected):
    """Each rebase period maps to the first point at or after it, once."""
    assert rebase_positions(Q, [parse_period(r) for r in rebase]) == expected
