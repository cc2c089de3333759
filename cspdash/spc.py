"""NHS "Making Data Count" XmR charts (statistical process control), matching NHSRplotthedots 0.2.x defaults.

``compute`` is the pipeline; its parts live in modules by noun and this module re-exports their public names (the same
objects): ``spc_rules`` (constants, input checks, centre line, limits and the special-cause rules) and ``spc_phases``
(a rebased chart's phases).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from cspdash.spc_phases import (
    Phase,
    _check_fix,
    _phase,
    _phase_directions,
    phase_starts,
)
from cspdash.spc_rules import (  # noqa: F401  (names not used here are re-exported: cspdash and the tests use them)
    COMMON_CAUSE,
    IMPROVEMENTS,
    LIMIT,
    NEAR_LIMIT,
    RUN,
    SCREEN_FACTOR,
    TRIAL_LIMIT_POINTS,
    Improvement,
    SPCInputError,
    _as_values,
    _check_improvement,
    _check_target,
    assurance,
    combine,
    mean_moving_range,
    moving_ranges,
    near_limits,
    outside_limits,
    point_type,
    process_limits,
    relative_to_mean,
    run_one_side,
    trend,
    two_in_three,
)

if TYPE_CHECKING:
    import pandas as pd

COLUMNS: tuple[str, ...] = ("value", "mean", "lpl", "upl", "point_type")


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
        import pandas as pd  # here, not at the top: a command that judges statuses never loads pandas
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
