"""A rebased XmR chart's phases: where each starts, the mean and limits each sets (on its first N points when fixed),
and the rules run within each phase only, as NHSRplotthedots' ``rebase`` and ``fix_after_n_points`` do.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cspdash.spc_rules import (
    TRIAL_LIMIT_POINTS,
    SPCInputError,
    _mean,
    combine,
    mean_moving_range,
    moving_ranges,
    near_limits,
    outside_limits,
    process_limits,
    run_one_side,
    trend,
    two_in_three,
)


@dataclass(frozen=True)
class Phase:
    """One phase of a rebased chart: positions start..stop-1 with their own mean, moving ranges and limits."""

    start: int  # 0-based position of the phase's first point
    stop: int  # one past its last point
    mean: float
    mr_bar: float
    lpl: float
    upl: float
    near_lpl: float
    near_upl: float
    screened_out: int
    fixed_on: int  # how many of its first points set the mean and limits (all of them unless fixed)


def _check_fix(fix_after_n_points: Any) -> int | None:
    """Return fix_after_n_points as an int of at least 12 (or None), else raise SPCInputError."""
    # R ptd_spc_options: "fix_after_n_points must be a single numeric that is greater than or equal to 12."
    if fix_after_n_points is None:
        return None
    if isinstance(fix_after_n_points, (bool, np.bool_)) or not isinstance(fix_after_n_points, numbers.Integral):
        raise SPCInputError(
            f"fix_after_n_points must be a whole number of at least {TRIAL_LIMIT_POINTS} or None; "
            f"got {fix_after_n_points!r}"
        )
    if fix_after_n_points < TRIAL_LIMIT_POINTS:
        raise SPCInputError(
            f"fix_after_n_points must be at least {TRIAL_LIMIT_POINTS} (as in NHSRplotthedots): limits set on "
            f"fewer points are trial limits; got {fix_after_n_points}. Use {TRIAL_LIMIT_POINTS} or more, or None."
        )
    return int(fix_after_n_points)


def phase_starts(rebase_at: Any, n: int) -> tuple[int, ...]:
    """The 0-based first position of each phase: 0 then each rebase position, checked against ``n`` points."""
    if isinstance(rebase_at, (str, bytes)) or not isinstance(rebase_at, Iterable):
        raise SPCInputError(f"rebase_at must be a sequence of 0-based positions; got {rebase_at!r}")
    positions: list[int] = []
    for item in rebase_at:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral):
            raise SPCInputError(f"rebase_at holds {item!r}, which is not a 0-based position (a whole number)")
        if not 0 <= item < n:
            raise SPCInputError(
                f"rebase_at holds position {item}, outside the series of {n} point(s) (0 to {n - 1}); "
                "drop it or map it to a position in the series"
            )
        if int(item) in positions:
            raise SPCInputError(f"rebase_at holds position {item} twice; give each phase's start once")
        positions.append(int(item))
    if positions != sorted(positions):
        raise SPCInputError(f"rebase_at must be in increasing order; got {list(rebase_at)!r}")
    # R: rebase_group = cumsum(rebase); a rebase on the first point starts the first phase, so changes nothing.
    return tuple([0] + [p for p in positions if p != 0]) if n else ()


def _phase(y: np.ndarray, start: int, fix_after_n_points: int | None) -> Phase:
    """Mean, screened mean moving range and limits of one phase, set on its first N points when fixed."""
    # R ptd_spc_standard, grouped by rebase_group: fix_y = y for row_number() <= fix_after_n_points, else NA;
    # mean and mr = c(NA, abs(diff(fix_y))) use only fix_y, so no moving range spans two phases.
    basis = y if fix_after_n_points is None else y[:fix_after_n_points]
    mean = _mean(basis)
    mr_bar, screened = mean_moving_range(moving_ranges(basis))
    lpl, upl = process_limits(mean, mr_bar)
    near_lpl, near_upl = near_limits(mean, mr_bar)
    return Phase(start, start + int(y.size), mean, mr_bar, lpl, upl, near_lpl, near_upl, screened, int(basis.size))


def _phase_directions(y: np.ndarray, phase: Phase) -> tuple[np.ndarray, tuple[str, ...]]:
    """Every rule on one phase's points against its own mean and limits."""
    # R ptd_calculate_point_type: group_by(f, rebase_group), so no run, trend or 2-of-3 window crosses a phase.
    mean, mr_bar = phase.mean, phase.mr_bar
    return combine(outside_limits(y, mean, mr_bar), trend(y), two_in_three(y, mean, mr_bar), run_one_side(y, mean))
