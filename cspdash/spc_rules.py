"""The XmR chart's arithmetic, as in NHSRplotthedots 0.2.x: its constants, input checks, centre line and process
limits, and the special-cause rules (each a small function returning +1, -1 or 0 per point), composed by
``cspdash.spc.compute``.
"""

from __future__ import annotations

import math
import numbers
import statistics
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, Literal

import numpy as np

from cspdash.errors import CspdashError

Improvement = Literal["increase", "decrease", "neutral"]
IMPROVEMENTS: tuple[str, ...] = ("increase", "decrease", "neutral")


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


def _loaded_pandas() -> Any:
    """pandas if something has imported it already, else None: a value is a pandas object (a Series, ``pd.NA``) only
    once pandas is loaded, so a chart of plain numbers never imports it (``import`` starts faster: docs/performance.md)."""
    return sys.modules.get("pandas")


def _element_to_float(item: Any, position: int) -> float:
    """Convert one input value to a finite float, naming its position if it cannot be."""
    pd = _loaded_pandas()
    if item is None or (pd is not None and (item is pd.NA or item is pd.NaT)):
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
    pd = _loaded_pandas()
    if pd is not None and isinstance(values, (pd.Series, pd.Index)):
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
