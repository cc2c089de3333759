"""Build the demo data under ``data/demo/``: real derived returns (B5, D9) and clearly labelled synthetic partner returns.

Run ``python -m cspdash.demo_data [SRC_DIR]`` from the repository root to rebuild every file; SRC_DIR defaults to
``../shared/data/london-datastore``. The built files are committed, so nothing else in the project reads SRC_DIR.
"""

from __future__ import annotations

import argparse
import random
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import yaml

DEFAULT_SRC = Path("../shared/data/london-datastore")
DEFAULT_OUT = Path("data/demo")
DEFAULT_CATALOGUE = Path("indicators.yaml")

SEED = 20171031  # the day the plan went to Cabinet; any fixed value would do
SYNTHETIC_PREFIX = "SYNTHETIC demo figure"
FIRST_QUARTER = (2017, 1)  # 2017/18 Q1, the plan's first quarter
LATEST_QUARTER = (2025, 3)  # 2025/26 Q3, the quarter the demo dashboard opens on
MISSING_LATEST = "A2"  # the one synthetic indicator whose latest return is "not yet received"

DERIVED_COLUMNS = ["indicator", "period", "area", "value", "commentary"]
RETURN_COLUMNS = ["indicator", "period", "value", "numerator", "denominator", "commentary"]
REAL_FILES = (
    "recorded-crime-borough-historical.parquet",
    "recorded-crime-borough.parquet",
    "mps-borough-level-crime-2024-01-to-2025-12.csv",
)
LONDON_BOROUGHS = (
    "Barking and Dagenham", "Barnet", "Bexley", "Brent", "Bromley", "Camden", "Croydon", "Ealing", "Enfield",
    "Greenwich", "Hackney", "Hammersmith and Fulham", "Haringey", "Harrow", "Havering", "Hillingdon", "Hounslow",
    "Islington", "Kensington and Chelsea", "Kingston upon Thames", "Lambeth", "Lewisham", "Merton", "Newham",
    "Redbridge", "Richmond upon Thames", "Southwark", "Sutton", "Tower Hamlets", "Waltham Forest", "Wandsworth",
    "Westminster",
)  # fmt: skip  # the 32 boroughs policed by the MPS, spelled as in every London Datastore MPS file

POPULATION_FILE = "london-population-2018-based-projections.csv"  # from ../ons-population beside SRC_DIR
VAWG_FILE = "b5-vawg-offences.csv"
KNIFE_FILE = "d9-knife-crime.csv"
RESTATEMENT_FILE = "synthetic-asb-restatement.csv"
ANALYST = "analyst@demo.example"


# ------------------------------------------------------------------------------------------------
# Real open data: derived monthly returns by borough
# ------------------------------------------------------------------------------------------------

_VAWG_SQL = """
SELECT 'B5' AS indicator,
       strftime(recorded_date_months, '%Y-%m') AS period,
       borough_name AS area,
       CAST(sum("count") AS BIGINT) AS value,
       '' AS commentary
FROM read_parquet($path)
WHERE sheet = 'Offence count location'         -- the other sheet repeats the same offences by classification
  AND list_contains($boroughs, borough_name)   -- drops 'Other' (N/K, non-MPS force, Heathrow) and 'Unknown'
GROUP BY ALL
ORDER BY area, period
"""

_KNIFE_SQL = """
SELECT 'D9' AS indicator,
       strftime(month_year, '%Y-%m') AS period,
       area_name AS area,
       CAST(sum("count") AS BIGINT) AS value,
       '' AS commentary
FROM read_parquet($path)
WHERE area_type = 'Borough'                    -- not the Safer Neighbourhood Team rows
  AND crime_type = 'Knife Crime'
  AND crime_subtype = 'Knife Crime'            -- the total; '... with Injury' and 'Knife Injury Victims' are subsets
  AND measure = 'Offences'                     -- not 'Positive Outcomes'
  AND list_contains($boroughs, area_name)      -- drops 'Other / NK' rows (aviation security, non-MPS force, N/K)
GROUP BY ALL
ORDER BY area, period
"""


def _derived(sql: str, path: Path) -> pd.DataFrame:
    """Run one of the derivation queries on ``path`` and check that every borough is there."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: source file not found (give the london-datastore folder as SRC_DIR)")
    with duckdb.connect() as con:
        df = con.execute(sql, {"path": str(path), "boroughs": list(LONDON_BOROUGHS)}).df()
    missing = sorted(set(LONDON_BOROUGHS) - set(df["area"]))
    if missing:
        raise ValueError(f"{path.name}: no rows for {', '.join(missing)}")
    df["value"] = df["value"].astype("int64")
    return df[DERIVED_COLUMNS].reset_index(drop=True)


def build_vawg(src_dir: Path | str) -> pd.DataFrame:
    """B5: VAWG offences recorded by the police, by borough and month recorded, from ``vawg-offences.parquet``."""
    return _derived(_VAWG_SQL, Path(src_dir) / "vawg-offences.parquet")


def build_knife(src_dir: Path | str) -> pd.DataFrame:
    """D9: knife crime offences by borough and month, from ``monthly-crime-dashboard.parquet``."""
    return _derived(_KNIFE_SQL, Path(src_dir) / "monthly-crime-dashboard.parquet")


# ------------------------------------------------------------------------------------------------
# Periods
# ------------------------------------------------------------------------------------------------

def fy_label(fy: int) -> str:
    """The financial year starting in April ``fy``, e.g. ``2017/18``."""
    return f"{fy}/{(fy + 1) % 100:02d}"


def quarter_label(fy: int, q: int) -> str:
    """The quarter label, e.g. ``2017/18 Q1``."""
    return f"{fy_label(fy)} Q{q}"


def demo_quarters() -> list[tuple[int, int]]:
    """(financial year, quarter) from 2017/18 Q1 to 2025/26 Q3 inclusive."""
    (fy0, q0), (fy1, q1) = FIRST_QUARTER, LATEST_QUARTER
    return [(fy, q) for fy in range(fy0, fy1 + 1) for q in range(1, 5) if (fy0, q0) <= (fy, q) <= (fy1, q1)]


def demo_years() -> list[int]:
    """Financial years 2017/18 to 2025/26 (the annual survey's years)."""
    return list(range(FIRST_QUARTER[0], LATEST_QUARTER[0] + 1))


# ------------------------------------------------------------------------------------------------
# Synthetic partner returns
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    """How one synthetic series is invented: a level with yearly trend, seasonality and noise, kept within bounds."""

    # Counts: value = level. Percent indicators: denominator = level, numerator = round(rate x denominator).

    level: float  # count (or denominator) in 2017/18
    lo: int
    hi: int
    trend: float = 0.0  # relative change of the level per year
    season: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)  # Q1 (Apr-Jun) .. Q4 (Jan-Mar)
    noise: float = 0.05  # relative standard deviation
    rate: float | None = None  # ratios: the share in 2017/18
    rate_trend: float = 0.0  # ratios: change of the share per year (absolute)
    rate_sd: float = 0.0
    rate_lo: float = 0.0
    rate_hi: float = 1.0
    choices: tuple[int, ...] = ()  # small counts drawn from this list instead (D1, D6, D7)


SPECS: dict[str, Spec] = {
    "A1": Spec(4400, 4000, 4620, trend=-0.005, season=(1.02, 1.04, 0.98, 0.96), noise=0.015),
    "A2": Spec(215, 150, 250, trend=-0.02, season=(1.0, 1.05, 0.98, 0.97), noise=0.06),
    "A3": Spec(17, 10, 30, trend=0.05, noise=0.15),
    "B1": Spec(25, 15, 35, noise=0.18),
    "B2": Spec(1255, 1200, 1500, trend=0.005, season=(0.99, 1.04, 1.0, 0.96), noise=0.015),
    "B4": Spec(98, 60, 110, trend=-0.025, season=(1.0, 1.06, 1.0, 0.94), noise=0.08),
    "C1": Spec(60, 40, 80, noise=0.15, rate=0.84, rate_sd=0.035, rate_lo=0.75, rate_hi=0.91),
    "C2": Spec(185, 150, 250, trend=0.02, season=(1.0, 1.08, 0.97, 0.95), noise=0.07),
    "C4": Spec(30, 20, 40, noise=0.15),
    "C5": Spec(1100, 1050, 1150, noise=0.025, rate=0.855, rate_trend=-0.001, rate_sd=0.012,
               rate_lo=0.80, rate_hi=0.88),
    "D1": Spec(0, 0, 2, choices=(0,) * 16 + (1,) * 3 + (2,)),
    "D2": Spec(32, 20, 45, noise=0.15, rate=0.66, rate_trend=0.005, rate_sd=0.07, rate_lo=0.50, rate_hi=0.88),
    "D3": Spec(30, 20, 45, noise=0.15, rate=0.45, rate_trend=0.005, rate_sd=0.07, rate_lo=0.30, rate_hi=0.65),
    "D4": Spec(40, 20, 45, trend=-0.03, noise=0.14),
    "D5": Spec(82, 60, 100, noise=0.1, rate=0.38, rate_trend=-0.004, rate_sd=0.03, rate_lo=0.25, rate_hi=0.44),
    "D6": Spec(0, 2, 8, choices=(2, 3, 4, 5, 5, 6, 6, 7, 8)),
    "D7": Spec(0, 2, 8, choices=(2, 3, 4, 4, 5, 5, 6, 7, 8)),
    "D11": Spec(6, 2, 12, noise=0.35),
}

# Figures fixed by hand so that 2025/26 Q3 shows every RAG outcome (see data/demo/README.md for the expected RAG).
# Counts: {period: value}; percents: {period: (numerator, denominator)}.
PINS: dict[str, dict[str, int | tuple[int, int]]] = {
    "A1": {"2024/25 Q3": 4068, "2025/26 Q3": 4556},  # +12.0%, decrease wanted: red
    "A3": {"2024/25 Q3": 24, "2025/26 Q3": 25},  # +4.2% against +10% wanted: amber
    "B1": {"2025/26 Q3": 28},  # at least 25: green
    "B2": {"2024/25 Q3": 1302, "2025/26 Q3": 1484},  # +14.0% against +5% wanted: green
    "B4": {"2024/25 Q3": 84, "2025/26 Q3": 82},  # -2.4% against -5% wanted: amber
    "C1": {"2025/26 Q3": (57, 69)},  # 82.6% against 85 (amber to 80): amber
    "C2": {"2024/25 Q3": 238, "2025/26 Q3": 181},  # -23.9% against +5% wanted: red
    "C4": {"2025/26 Q3": 34},  # at least 30: green
    "C5": {"2025/26": (956, 1146)},  # 83.4% against 85 (amber to 82): amber
    "D1": {"2025/26 Q3": 0},  # at most 0: green
    "D2": {"2025/26 Q3": (26, 34)},  # 76.5% against 70: green
    "D3": {"2025/26 Q3": (12, 27)},  # 44.4% against 50 (amber to 40): amber
    "D4": {"2024/25 Q3": 38, "2025/26 Q3": 29},  # -23.7%: green on its face, amber by the chance rule
    "D5": {"2024/25 Q1": (30, 82), "2024/25 Q2": (27, 76), "2024/25 Q3": (29, 80), "2024/25 Q4": (26, 74),
           "2025/26 Q3": (24, 79)},  # 30.4% against a 35.9% 2024/25 average (-15%): green
    "D6": {"2025/26 Q1": 4, "2025/26 Q2": 5, "2025/26 Q3": 3},  # 12 against 15 due (amber from 11.25): amber
    "D7": {"2025/26 Q1": 6, "2025/26 Q2": 5, "2025/26 Q3": 6},  # 17 against 15 due: green
    "D11": {"2025/26 Q3": 7},  # no target: monitor
}

CHAIR_COMMENTS: dict[str, str] = {
    "A1": "Calls up 12% on Q3 last year, mostly youth ASB and fireworks around Brick Lane and Whitechapel in "
          "October-November; a dispersal order and extra Partnership Taskforce patrols are in place for Q4.",
    "A3": "A little ahead of Q3 last year but short of the 10% rise sought; two treatment requirement places "
          "were vacant for part of the quarter.",
    "B1": "Two cohorts trained, including the first from the housing associations.",
    "B2": "Reporting up after the 16 Days of Action campaign and the new IDVA presence in the hospital A&E; "
          "more reporting is the aim.",
    "B4": "A slight fall, short of the 5% reduction sought; detached youth work ran through half-term.",
    "C1": "Just below the 85% target; comments cite waiting times for a first call back.",
    "C2": "Reports fell sharply: the third-party reporting centre in the library was closed for refurbishment "
          "for most of the quarter. It reopens in January and a reporting campaign is planned.",
    "C4": "Sessions delivered to schools, mosques and the further education college as planned.",
    "C5": "Annual Residents Survey 2025: slightly down on last year and below the 85% target.",
    "D1": "No serious further offences by MAPPA level 3 offenders this quarter.",
    "D2": "Needs met above target; the new prison-release pathway is helping.",
    "D3": "ETE outcomes remain below target while the ETE hub recruits a new employment coordinator.",
    "D4": "Fewer first-time entrants after the new diversion offer; numbers are small, so read with care.",
    "D5": "Re-offending rate down on the 2024/25 average.",
    "D6": "Three orders granted; two more applications are listed for January.",
    "D7": "Six burglars adopted this quarter; the year's 20 is on course.",
    "D11": "Seven gun crime offences, within the usual range.",
}


def _load_catalogue(catalogue_path: Path | str) -> list[dict]:
    """The ``indicators`` list of the catalogue, read with ``yaml.safe_load``."""
    with open(catalogue_path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["indicators"]


#: The indicators the demo invents figures for (each has a Spec): the partner returns no open data holds. The flag
#: lives on the upload, not in the catalogue: the demo's uploads of these returns are marked synthetic.
SYNTHETIC_INDICATORS: tuple[str, ...] = tuple(SPECS)


def synthetic_indicators(catalogue_path: Path | str) -> dict[str, list[dict]]:
    """The catalogue's indicators listed in ``SYNTHETIC_INDICATORS``, grouped by owning subgroup (catalogue order)."""
    out: dict[str, list[dict]] = {}
    for ind in _load_catalogue(catalogue_path):
        if ind["id"] in SYNTHETIC_INDICATORS:
            out.setdefault(ind["owner"], []).append(ind)
    return out


def _clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def _series(ind_id: str, spec: Spec, periods: Sequence[tuple[int, int]]) -> list[tuple[int, int | None]]:
    """(value or numerator, denominator or None) for each (fy, q) period; q = 0 for a financial year."""
    rng = random.Random(f"{SEED}-{ind_id}")  # a str seed is hashed with SHA-512: stable across runs and platforms
    fy0 = FIRST_QUARTER[0]
    out: list[tuple[int, int | None]] = []
    for fy, q in periods:
        t = (fy - fy0) + (max(q, 1) - 1) / 4  # years since 2017/18 Q1
        if spec.choices:
            level = rng.choice(spec.choices)
        else:
            season = spec.season[q - 1] if q else 1.0
            mean = spec.level * (1 + spec.trend) ** t * season
            level = round(_clamp(rng.gauss(mean, mean * spec.noise), spec.lo, spec.hi))
        if spec.rate is None:
            out.append((int(level), None))
        else:
            rate = _clamp(rng.gauss(spec.rate + spec.rate_trend * t, spec.rate_sd), spec.rate_lo, spec.rate_hi)
            out.append((round(rate * level), int(level)))
    return out


def _rows_for(ind: dict) -> pd.DataFrame:
    """The synthetic return rows of one catalogue indicator."""
    ind_id = ind["id"]
    if ind_id not in SPECS:
        raise ValueError(f"indicator {ind_id} is in SYNTHETIC_INDICATORS but has no demo Spec in demo_data.SPECS")
    annual = ind["frequency"] == "annual"
    periods = [(fy, 0) for fy in demo_years()] if annual else demo_quarters()
    labels = [fy_label(fy) if annual else quarter_label(fy, q) for fy, q in periods]
    ratio = ind["unit"] != "count"
    series = dict(zip(labels, _series(ind_id, SPECS[ind_id], periods), strict=True))
    for label, pin in PINS.get(ind_id, {}).items():
        if label not in series:
            raise ValueError(f"PINS[{ind_id}]: {label} is not a demo period")
        series[label] = pin if isinstance(pin, tuple) else (pin, None)
    latest = labels[-1]
    rows = []
    for label, (a, b) in series.items():
        if ind_id == MISSING_LATEST and label == latest:
            continue  # the return not yet received: the dashboard shows NO DATA
        comment = SYNTHETIC_PREFIX
        if label == latest and ind_id in CHAIR_COMMENTS:
            comment = f"{SYNTHETIC_PREFIX}. {CHAIR_COMMENTS[ind_id]}"
        if ratio:
            if b is None or a > b:
                raise ValueError(f"{ind_id} {label}: a percent needs numerator <= denominator, got {a}/{b}")
            rows.append((ind_id, label, None, a, b, comment))
        else:
            rows.append((ind_id, label, a, None, None, comment))
    return pd.DataFrame(rows, columns=RETURN_COLUMNS)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Integer columns as nullable Int64 (so CSVs hold ``4556`` and empty cells, never ``4556.0``)."""
    df = df.copy()
    for col in ("value", "numerator", "denominator"):
        df[col] = df[col].astype("Int64")
    return df


def build_synthetic(catalogue_path: Path | str) -> dict[str, pd.DataFrame]:
    """One synthetic return per subgroup owning indicators of ``SYNTHETIC_INDICATORS``, keyed by subgroup id."""
    return {
        subgroup: _typed(pd.concat([_rows_for(ind) for ind in inds], ignore_index=True))
        for subgroup, inds in synthetic_indicators(catalogue_path).items()
    }


def build_restatement(synthetic: dict[str, pd.DataFrame], indicator: str = "A1",
                      period: str = "2025/26 Q2", factor: float = 1.03) -> pd.DataFrame:
    """The ASB subgroup restating one earlier figure (late-recorded calls added: about 3% higher)."""
    df = synthetic["asb"]
    row = df[(df["indicator"] == indicator) & (df["period"] == period)]
    if len(row) != 1:
        raise ValueError(f"no single {indicator} {period} row to restate")
    value = round(int(row["value"].iloc[0]) * factor)
    out = pd.DataFrame([(indicator, period, value, None, None,
                         f"{SYNTHETIC_PREFIX}. Restated: late-recorded calls added.")], columns=RETURN_COLUMNS)
    return _typed(out)


def synthetic_filename(subgroup: str) -> str:
    """The file name of a subgroup's synthetic return."""
    return f"synthetic-{subgroup}-return.csv"


# ------------------------------------------------------------------------------------------------
# Manifest and writing
# ------------------------------------------------------------------------------------------------

def build_manifest(returns: dict[str, Sequence[str]]) -> list[dict]:
    """The ordered uploads of the ``demo`` command; ``returns`` maps each subgroup to its synthetic indicator ids."""
    items: list[dict] = [
        {"file": POPULATION_FILE, "dataset": "population", "user": ANALYST,
         "note": "London population by borough, mid-2018 to mid-2030 (real, ONS 2018-based projections)"},
        {"file": "recorded-crime-borough-historical.parquet", "dataset": "borough_crime", "user": ANALYST,
         "note": "MPS recorded crime by borough, Apr 2010 to Feb 2024 (real, London Datastore)"},
        # The CSV is the older release: loaded before the newer parquet, it restates Jan-Feb 2024 of the historical
        # file and is itself restated by the newer release for Mar 2024 to Dec 2025, so the newest figures count.
        {"file": "mps-borough-level-crime-2024-01-to-2025-12.csv", "dataset": "borough_crime", "user": ANALYST,
         "note": "an earlier MPS Borough Level Crime release, Jan 2024 to Dec 2025 (real, London Datastore)"},
        {"file": "recorded-crime-borough.parquet", "dataset": "borough_crime", "user": ANALYST,
         "note": "MPS recorded crime by borough, Mar 2024 to Feb 2026 (real, London Datastore): restates Mar 2024 on"},
        {"file": VAWG_FILE, "dataset": None, "user": ANALYST,
         "note": "B5 VAWG offences by borough and month, Jan 2014 to Feb 2026 (real, derived)"},
        {"file": KNIFE_FILE, "dataset": None, "user": ANALYST,
         "note": "D9 knife crime offences by borough and month, Mar 2022 to Feb 2026 (real, derived)"},
    ]
    items += [
        {"file": synthetic_filename(s), "dataset": None, "user": f"chair-{s}@demo.example", "synthetic": True,
         "note": f"SYNTHETIC return of the {s} subgroup for {', '.join(ids)}, from 2017/18 (invented figures)"}
        for s, ids in returns.items()
    ]
    items += [
        {"file": RESTATEMENT_FILE, "dataset": None, "user": "chair-asb@demo.example", "synthetic": True,
         "note": "SYNTHETIC restatement of A1 for 2025/26 Q2 (late-recorded calls added)"},
    ]
    return items


_MANIFEST_HEADER = """\
# The uploads `python -m cspdash demo` performs, in order (built by `python -m cspdash.demo_data`).
# file: a file in data/demo/; dataset: the record-level dataset it loads (null: an indicator return);
# user: who the upload is recorded against; synthetic: true marks the upload as invented figures (as
# `import --synthetic` does), so every figure it holds is labelled synthetic; note: one line for the upload log.
# Files named synthetic-* hold INVENTED figures for demonstration only (see README.md).
"""


def manifest_text(items: Sequence[dict]) -> str:
    """The manifest as YAML with a header comment."""
    return _MANIFEST_HEADER + yaml.safe_dump(list(items), sort_keys=False, allow_unicode=True, width=200)


def to_csv_text(df: pd.DataFrame) -> str:
    """The exact text written for a demo CSV (UTF-8, ``\\n`` line ends, empty cells for missing values)."""
    return df.to_csv(index=False, lineterminator="\n")


def write_all(src_dir: Path | str, out_dir: Path | str, catalogue_path: Path | str,
              real: bool = True, log: Callable[[str], None] = print) -> list[Path]:
    """Copy the real files, build the derived and synthetic CSVs and the manifest into ``out_dir``."""
    src, out = Path(src_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    if real:
        for name in REAL_FILES:
            shutil.copyfile(src / name, out / name)
            log(f"copied {name}")
        shutil.copyfile(src.parent / "ons-population" / POPULATION_FILE, out / POPULATION_FILE)
        log(f"copied {POPULATION_FILE}")
        files[VAWG_FILE] = to_csv_text(build_vawg(src))
        files[KNIFE_FILE] = to_csv_text(build_knife(src))
    synthetic = build_synthetic(catalogue_path)
    for subgroup, df in synthetic.items():
        files[synthetic_filename(subgroup)] = to_csv_text(df)
    files[RESTATEMENT_FILE] = to_csv_text(build_restatement(synthetic))
    returns = {s: list(dict.fromkeys(df["indicator"])) for s, df in synthetic.items()}
    files["manifest.yaml"] = manifest_text(build_manifest(returns))
    written = []
    for name, text in files.items():
        path = out / name
        path.write_text(text, encoding="utf-8", newline="")
        written.append(path)
        log(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Rebuild data/demo from the London Datastore files and the catalogue."""
    p = argparse.ArgumentParser(prog="python -m cspdash.demo_data", description=__doc__.splitlines()[0])
    p.add_argument("src_dir", nargs="?", default=str(DEFAULT_SRC), help=f"default: {DEFAULT_SRC}")
    p.add_argument("--out", default=str(DEFAULT_OUT), help=f"output folder (default: {DEFAULT_OUT})")
    p.add_argument("--config", default=str(DEFAULT_CATALOGUE), help=f"catalogue (default: {DEFAULT_CATALOGUE})")
    p.add_argument("--synthetic-only", action="store_true",
                   help="rebuild only the synthetic returns and the manifest (no source files needed)")
    args = p.parse_args(argv)
    write_all(args.src_dir, args.out, args.config, real=not args.synthetic_only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
