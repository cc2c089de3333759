"""The status engine and SPC import no pandas: a command that judges statuses (``import`` previews them) does not pay
for it; pandas is loaded only when a chart's table (``SPCResult.points``) is built or a pandas value is handed in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cspdash import spc

ROOT = Path(__file__).resolve().parents[1]
SERIES = [float(v) for v in range(1, 14)]  # a rising trend: special-cause improvement


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_judging_a_chart_of_plain_numbers_loads_no_pandas_until_its_table_is_asked_for():
    out = run("import sys\nfrom cspdash import spc, status\n"
              f"r = spc.compute({SERIES!r}, 'increase', target=5.0)\n"
              "print('pandas' in sys.modules, r.variation, r.assurance)\n"
              "r.points\nprint('pandas' in sys.modules)")
    assert out.splitlines() == ["False special_cause_improvement inconsistent", "True"]


@pytest.mark.parametrize("values", [pd.Series(SERIES), pd.Series(SERIES, dtype="Float64"), pd.Index(SERIES)],
                         ids=["series", "nullable", "index"])
def test_pandas_values_are_read_as_before(values):
    assert spc.compute(values, "increase").point_types == spc.compute(SERIES, "increase").point_types


@pytest.mark.parametrize("missing", [pd.NA, pd.NaT, None, float("nan")], ids=["NA", "NaT", "None", "nan"])
def test_a_missing_pandas_value_is_still_named_as_missing(missing):
    with pytest.raises(spc.SPCInputError, match="position 1 is missing"):
        spc.compute([1.0, missing, 3.0], "increase")
