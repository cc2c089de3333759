"""NHS "Making Data Count" XmR charts (statistical process control), matching NHSRplotthedots 0.2.x defaults."""

from __future__ import annotations

import math
import numbers
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from cspdash.errors import CspdashError

Improvement = Literal["increase", "decrease", "neutral"]
IMPROVEMENTS: tuple[str, ...] = ("increase", "decrease", "neutral")
COLUMNS: tuple[str, ...] = ("value", "mean", "lpl", "upl", "point_type")

# Constants exactly as in NHSRplotthedots R/ptd_spc_standard.R:
#   limit <- 2.66 ; limitclose <- 2 * (limit / 3) ; screening: mr < 3.267 * amr is kept.
LIMIT = 2.66
NEAR_LIMIT = 2 * (LIMIT / 3)
SCREEN_FACTOR = 3.267
RUN = 7  # points in a trend (6 consecutive rises or falls) and in a run on one side of the mean
TRIAL_LIMIT_POINTS = 12  # the reference warns that groups below this size only have trial limits

COMMON_CAUSE = "Common Cause"


class SPCInputError(CspdashError, ValueError):
    """Values, improvement direction or target that an SPC chart cannot be drawn from."""


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


@dataclass(frozen=True, eq=False)
class SPCResult:
    """The XmR chart of one series: per-point table, overall variation, assurance and explanatory notes."""

    variation: str | None  # point_type of the last point (None for an empty series)
    assurance: str | None  # consistent_pass / consistent_fail / inconsistent, or None when not judged
    improvement: str
    target: float | None
    n: int
    mean: float  # NaN for an empty series
    mr_bar: float  # mean moving range after screening; NaN when there are no limits
    lpl: float  # lower process limit; NaN when there are no limits
    upl: float  # upper process limit; NaN when there are no limits
    near_lpl: float  # lower 2-sigma line (near-limit band); NaN when there are no limits
    near_upl: float  # upper 2-sigma line (near-limit band); NaN when there are no limits
    special_cause_types: tuple[str, ...]  # per point, the reference's label, e.g. "7 Point Trend (Increasing)"
    screened_out: int  # moving ranges screened out as too large before the limits were set
    notes: tuple[str, ...]  # plain-English explanations of what could not be judged
    point_types: tuple[str, ...] = ()  # per point, its point_type (the last is ``variation``)
    values: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # the input, as float64
    phases: tuple[Phase, ...] = ()  # the chart's phases in order; the scalar fields above are the last one's

    @cached_property
    def points(self) -> pd.DataFrame:
        """Columns value, mean, lpl, upl, point_type; one row per input value.

        Built on first use: the status engine judges every indicator and quarter from the fields above and never
        needs the table, which costs more to build than the chart's arithmetic.
        """
        n = len(self.point_types)
        phases = self.phases or (Phase(0, n, self.mean, self.mr_bar, self.lpl, self.upl, self.near_lpl,
                                       self.near_upl, self.screened_out, n),)
        lengths = [p.stop - p.start for p in phases]
        return pd.DataFrame(
            {
                "value": self.values,
                "mean": np.repeat([p.mean for p in phases], lengths),
                "lpl": np.repeat([p.lpl for p in phases], lengths),
                "upl": np.repeat([p.upl for p in phases], lengths),
                "point_type": pd.Series(list(self.point_types), dtype="str"),
            },
            columns=list(COLUMNS),
        )


# --- input validation -------------------------------------------------------------------------


def _check_improvement(improvement: Any) -> str:
    """Return ``improvement`` if it is one of IMPROVEMENTS, else raise SPCInputError."""
    if isinstance(improvement, str) and improvement in IMPROVEMENTS:
        return improvement
    allowed = ", ".join(repr(i) for i in IMPROVEMENTS)
    raise SPCInputError(f"improvement must be one of {allowed}; got {improvement!r}")


def _check_target(target: Any) -> float | None:
    """Return the target as a finite float (or None), else raise SPCInputError."""
    if target is None:
        return None
    if isinstance(target, (bool, np.bool_)) or not isinstance(target, (numbers.Real, Decimal)):
        raise SPCInputError(f"target must be a number or None; got {target!r}")
    value = float(target)
    if not math.isfinite(value):
        raise SPCInputError(f"target must be a finite number; got {target!r}")
    return value


def _element_to_float(item: Any, position: int) -> float:
    """Convert one input value to a finite float, naming its position if it cannot be."""
    if item is None or item is pd.NA or item is pd.NaT:
        raise SPCInputError(f"value at position {position} is missing ({item!r}); SPC needs a complete series")
    if isinstance(item, (bool, np.bool_)) or not isinstance(item, (numbers.Real, Decimal)):
        raise SPCInputError(f"value at position {position} is not a number: {item!r}")
    value = float(item)
    if math.isnan(value):
        raise SPCInputError(f"value at position {position} is missing (NaN); SPC needs a complete series")
    if math.isinf(value):
        raise SPCInputError(f"value at position {position} is not finite: {item!r}")
    return value


def _as_values(values: Iterable[Any]) -> np.ndarray:
    """Convert a list, tuple, numpy array or pandas Series of numbers to a 1-D float64 array."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise SPCInputError(f"values must be a sequence of numbers; got {type(values).__name__}")
    if isinstance(values, (pd.Series, pd.Index)):
        if values.dtype.kind in "iuf":  # numpy or nullable (Int64/Float64) numeric dtypes
            values = values.to_numpy(dtype="float64", na_value=np.nan)
        else:
            values = values.to_numpy(dtype=object)
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise SPCInputError(f"values must be one-dimensional; got an array of shape {values.shape}")
        if values.dtype.kind in "iuf":
            array = values.astype("float64")
            bad = np.flatnonzero(~np.isfinite(array))
            if bad.size:
                _element_to_float(values[bad[0]], int(bad[0]))  # raises, naming the position
            return array
        if values.dtype.kind != "O":
            raise SPCInputError(f"values must be numbers; got an array of dtype {values.dtype}")
    if isinstance(values, list) and all(type(v) is float for v in values):  # the status engine's case
        array = np.array(values, dtype="float64")
        if np.isfinite(array).all():
            return array
    return np.array([_element_to_float(item, i) for i, item in enumerate(values)], dtype="float64")


# --- centre line and limits -------------------------------------------------------------------


def _mean(values: Sequence[float] | np.ndarray) -> float:
    """Correctly rounded arithmetic mean, as close as possible to R's two-pass long-double mean()."""
    # The exact sum of the values over n, rounded once: the same float as float(statistics.mean(Fraction(v)
    # for v in values)), computed with integers. Every finite float is m / 2**k, so over the largest 2**k the
    # sum is one integer; int / int true division is correctly rounded. (Fractions cost ~100x more, and SPC
    # runs for every indicator and quarter the dashboard rates.)
    ratios = [float(v).as_integer_ratio() for v in values]
    if not ratios:
        raise statistics.StatisticsError("mean requires at least one data point")
    scale = max(den for _, den in ratios)
    total = sum(num * (scale // den) for num, den in ratios)
    return total / (scale * len(ratios))


def moving_ranges(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Absolute differences between consecutive values (one fewer than the values)."""
    return np.abs(np.diff(np.asarray(values, dtype="float64")))


def mean_moving_range(mr: Sequence[float] | np.ndarray, screen_factor: float = SCREEN_FACTOR) -> tuple[float, int]:
    """Mean moving range after screening out ranges >= screen_factor x their mean; also the count screened."""
    mr = np.asarray(mr, dtype="float64")
    if mr.size == 0:
        return math.nan, 0
    # R: amr = mean(mr); mr = case_when(mr < 3.267 * amr ~ mr, TRUE ~ NA); amr = mean(mr, na.rm = TRUE)
    kept = mr[mr < screen_factor * _mean(mr)]
    screened = int(mr.size - kept.size)
    # mean() of no values is NaN in R: this happens exactly when every moving range is 0 (a flat series).
    return (_mean(kept) if kept.size else math.nan), screened


def process_limits(mean: float, mr_bar: float) -> tuple[float, float]:
    """Lower and upper process limits: mean -/+ 2.66 x mean moving range."""
    return mean - LIMIT * mr_bar, mean + LIMIT * mr_bar


def near_limits(mean: float, mr_bar: float) -> tuple[float, float]:
    """Lower and upper edges of the near-limit band (2-sigma lines): mean -/+ (2/3)(2.66 x mr_bar)."""
    return mean - NEAR_LIMIT * mr_bar, mean + NEAR_LIMIT * mr_bar


def relative_to_mean(values: Sequence[float] | np.ndarray, mean: float) -> np.ndarray:
    """+1 above the mean, -1 below it, 0 exactly on it."""
    return np.sign(np.asarray(values, dtype="float64") - mean).astype(np.int8)


# --- special-cause rules: each returns +1 (high), -1 (low) or 0 (not flagged) per point --------


def _windows(a: np.ndarray, width: int) -> np.ndarray:
    """``np.lib.stride_tricks.sliding_window_view(a, width)`` of a 1-D array (read-only), without its argument
    handling, which cost more than the rules' arithmetic on series of a few dozen points."""
    a = np.ascontiguousarray(a)
    return np.lib.stride_tricks.as_strided(a, shape=(a.size - width + 1, width), strides=(a.strides[0],) * 2,
                                           writeable=False)


def _part_of_run(ends: np.ndarray) -> np.ndarray:
    """Flag each point that is the last point of a 7-point window, or one of the 6 points before it."""
    # R ptd_part_of_seven_trend: vp <- c(v, rep(0, 6)); any(abs(vp[i + 0:6]) == 1)
    padded = np.concatenate([ends != 0, np.zeros(RUN - 1, dtype=bool)])
    return _windows(padded, RUN).any(axis=1)


def outside_limits(values: Sequence[float] | np.ndarray, mean: float, mr_bar: float) -> np.ndarray:
    """Rule 1: points strictly above the upper or strictly below the lower process limit."""
    y = np.asarray(values, dtype="float64")
    lpl, upl = process_limits(mean, mr_bar)
    # R: outside_limits = (y > upl | y < lpl); labelled "Above UCL" if relative_to_mean == 1, else "Below LCL"
    outside = (y > upl) | (y < lpl)  # NaN limits compare False, as R's NA is treated as FALSE by case_when
    return np.where(outside, np.where(relative_to_mean(y, mean) == 1, 1, -1), 0).astype(np.int8)


def trend(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Rule 2: points in a run of 7 each strictly higher (+1) or strictly lower (-1) than the one before."""
    y = np.asarray(values, dtype="float64")
    n = y.size
    if n < RUN:
        return np.zeros(n, dtype=np.int8)
    steps = np.sign(np.diff(y))
    # R ptd_seven_point_trend: a 7-point window ending at i with all 6 steps +1 (or all -1); ties break it
    windows = _windows(steps, RUN - 1)
    ends = np.zeros(n, dtype=np.int8)
    ends[RUN - 1 :] = np.where((windows == 1).all(axis=1), 1, np.where((windows == -1).all(axis=1), -1, 0))
    part = _part_of_run(ends)
    # R ptd_special_cause_type: a trend point takes the sign of the step to its right when the next point
    # is also part of a trend, else the step to its left; only a +1 step reads "Increasing".
    right = np.concatenate([steps, steps[-1:]])
    left = np.concatenate([[0.0], steps])
    next_part = np.concatenate([part[1:], [False]])
    step = np.where(part & next_part, right, left)
    return np.where(part, np.where(step == 1, 1, -1), 0).astype(np.int8)


def two_in_three(values: Sequence[float] | np.ndarray, mean: float, mr_bar: float) -> np.ndarray:
    """Rule 3: points beyond the near-limit band (inside the limits) in 2 of 3 points all on one side."""
    y = np.asarray(values, dtype="float64")
    n = y.size
    if n < 3:
        return np.zeros(n, dtype=np.int8)
    lpl, upl = process_limits(mean, mr_bar)
    nlpl, nupl = near_limits(mean, mr_bar)
    side = relative_to_mean(y, mean)
    # R: close_to_limits = !outside_limits & (y < nlpl | y > nupl): points beyond the limits do not count
    close = ~((y > upl) | (y < lpl)) & ((y < nlpl) | (y > nupl))
    # R ptd_two_in_three: a window of 3 qualifies if >= 2 are close and abs(sum(relative_to_mean)) == 3
    close_w = _windows(close, 3).sum(axis=1) >= 2
    side_w = np.abs(_windows(side, 3).sum(axis=1)) == 3
    padded = np.concatenate([[False, False], close_w & side_w, [False, False]])
    in_window = _windows(padded, 3).any(axis=1)
    # R ptd_part_of_two_in_three: only the close points of a qualifying window are flagged
    return np.where(in_window & close, side, 0).astype(np.int8)


def run_one_side(values: Sequence[float] | np.ndarray, mean: float) -> np.ndarray:
    """Rule 4: points in a run of 7 or more on one side of the mean; a point on the mean breaks the run."""
    side = relative_to_mean(values, mean)
    n = side.size
    if n < RUN:
        return np.zeros(n, dtype=np.int8)
    # R ptd_seven_point_one_side_mean: all(vp[i] == vp[i - 1:6]) & vp[i] != 0
    windows = _windows(side, RUN)
    ends = np.zeros(n, dtype=np.int8)
    ends[RUN - 1 :] = ((windows == 1).all(axis=1) | (windows == -1).all(axis=1)).astype(np.int8)
    return np.where(_part_of_run(ends), side, 0).astype(np.int8)


def combine(
    outside: np.ndarray, trending: np.ndarray, two_of_three: np.ndarray, run: np.ndarray
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Apply the rule priority (outside, trend, 2-of-3, run); return each point's direction and label."""
    directions = np.zeros(len(outside), dtype=np.int8)
    labels: list[str] = []
    for i in range(len(outside)):
        if outside[i]:
            label = "Above UCL" if outside[i] > 0 else "Below LCL"
            direction = outside[i]
        elif trending[i]:
            label = f"7 Point Trend ({'Increasing' if trending[i] > 0 else 'Decreasing'})"
            direction = trending[i]
        elif two_of_three[i]:
            label = f"2 in 3 {'Above' if two_of_three[i] > 0 else 'Below'} CL"
            direction = two_of_three[i]
        elif run[i]:
            label = f"7 Points {'Above' if run[i] > 0 else 'Below'} CL"
            direction = run[i]
        else:
            label, direction = COMMON_CAUSE, 0
        directions[i] = direction
        labels.append(label)
    return directions, tuple(labels)


def point_type(direction: int, improvement: str) -> str:
    """Name a point's type from its direction (+1 high, -1 low, 0 none) and the improvement direction."""
    if direction == 0:
        return "common_cause"
    if improvement == "neutral":
        return "special_cause_neutral_high" if direction > 0 else "special_cause_neutral_low"
    better = direction > 0 if improvement == "increase" else direction < 0
    return "special_cause_improvement" if better else "special_cause_concern"


def assurance(target: float | None, lpl: float, upl: float, improvement: str) -> str | None:
    """Compare a target with the process limits; None without a target, limits, or direction."""
    if target is None or improvement == "neutral" or math.isnan(lpl) or math.isnan(upl):
        return None
    increasing = improvement == "increase"
    if target > upl:
        return "consistent_fail" if increasing else "consistent_pass"
    if target < lpl:
        return "consistent_pass" if increasing else "consistent_fail"
    return "inconsistent"


# --- entry point ------------------------------------------------------------------------------


def _notes(
    n: int, mr_bar: float, screened: int, target: float | None, improvement: str, phases: int = 1, fixed_on: int = 0
) -> tuple[str, ...]:
    """Plain-English explanations of what could not be judged for this series (its last phase, ``n`` points)."""
    notes: list[str] = []
    limits = not math.isnan(mr_bar)
    if phases > 1:
        notes.append(
            f"The chart is rebased into {phases} phases; each has its own mean and limits, no rule crosses a "
            f"phase boundary, and the notes below are about the last phase ({n} point(s))."
        )
    if fixed_on and fixed_on < n:
        notes.append(f"The limits are fixed on the phase's first {fixed_on} points; later points do not move them.")
    if n == 0:
        notes.append("No points: nothing to judge.")
    elif n < 2:
        notes.append("Fewer than 2 points: no process limits.")
    elif not limits:
        notes.append(
            "Every value is the same, so every moving range is 0 and all are screened out: "
            "no process limits (as in NHSRplotthedots)."
        )
    if 0 < n < 3:
        notes.append("Fewer than 3 points: the 2-of-3 near-limit rule cannot fire yet.")
    if 0 < n < RUN:
        notes.append(f"Fewer than {RUN} points: the run and trend rules cannot fire yet.")
    if limits and min(n, fixed_on or n) < TRIAL_LIMIT_POINTS:
        notes.append(
            f"Fewer than {TRIAL_LIMIT_POINTS} points: these are trial limits, which will move with each new point."
        )
    if limits and mr_bar == 0:
        notes.append(
            "Every moving range left after screening is 0, so the limits sit on the mean: "
            "any point off the mean is outside them."
        )
    if limits and screened:
        notes.append(
            f"{screened} unusually large moving range(s) (at least {SCREEN_FACTOR} x the average) "
            "were left out when setting the limits."
        )
    if target is not None and improvement == "neutral":
        notes.append("Improvement direction is neutral: the target is not assessed.")
    elif target is not None and not limits:
        notes.append("No process limits: the target cannot be assessed.")
    return tuple(notes)


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


def compute(
    values: Iterable[Any],
    improvement: Improvement | str,
    target: float | None = None,
    rebase_at: Sequence[int] = (),
    fix_after_n_points: int | None = None,
) -> SPCResult:
    """Compute the XmR chart of ``values`` (in time order) with NHSRplotthedots' default rules.

    ``rebase_at`` starts a new phase at each 0-based position (own mean, moving ranges, limits and rules);
    ``fix_after_n_points`` sets each phase's mean and limits on its first N (>= 12) points.
    """
    improvement = _check_improvement(improvement)
    target = _check_target(target)
    fix = _check_fix(fix_after_n_points)
    y = _as_values(values)
    n = int(y.size)
    starts = phase_starts(rebase_at, n)

    if not n:
        mean = mr_bar = math.nan
        phases: tuple[Phase, ...] = ()
        lpl, upl = process_limits(mean, mr_bar)
        last = Phase(0, 0, mean, mr_bar, lpl, upl, *near_limits(mean, mr_bar), 0, 0)
        directions, labels = np.zeros(0, dtype=np.int8), ()
    else:
        bounds = list(zip(starts, [*starts[1:], n], strict=True))
        phases = tuple(_phase(y[a:b], a, fix) for a, b in bounds)
        parts = [_phase_directions(y[p.start : p.stop], p) for p in phases]
        directions = np.concatenate([d for d, _ in parts])
        labels = tuple(label for _, part_labels in parts for label in part_labels)
        last = phases[-1]
    types = [point_type(int(d), improvement) for d in directions]
    # R ptd_calculate_assurance_type: slice_tail(n = 1), so the target is judged on the last phase's limits.
    return SPCResult(
        variation=types[-1] if types else None,
        assurance=assurance(target, last.lpl, last.upl, improvement),
        improvement=improvement,
        target=target,
        n=n,
        mean=last.mean,
        mr_bar=last.mr_bar,
        lpl=last.lpl,
        upl=last.upl,
        near_lpl=last.near_lpl,
        near_upl=last.near_upl,
        special_cause_types=labels,
        screened_out=last.screened_out,
        notes=_notes(last.stop - last.start, last.mr_bar, last.screened_out, target, improvement,
                     phases=len(phases), fixed_on=last.fixed_on),
        point_types=tuple(types),
        values=y,
        phases=phases,
    )
