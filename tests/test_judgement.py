"""Issue 12's judgement, end to end through the CLI (``import`` then ``status --format json``): a 95% interval on
every figure, green and red only beyond chance, which amber, the RAG/SPC sentence and ``partnership.rating``.

The expected intervals are computed here independently of cspdash: Garwood from scipy's chi-squared quantiles and
Wilson from scipy's ``binomtest(...).proportion_ci(method="wilson")``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy.stats import binomtest, chi2

from cspdash import views
from cspdash.cli import main
from cspdash.config import loads_catalogue
from cspdash.periods import Period
from cspdash.status import Observation, evaluate, figures_for

CATALOGUE = """\
partnership: {name: Judgement Test Partnership, area: Testshire%s}
periods: {first: 2010/11 Q1, last: 2030/31 Q4}
priorities:
  - {id: A, title: Harm}
subgroups:
  - {id: ops, name: Operations, priority: A}
indicators:
  - id: CNT
    priority: A
    owner: ops
    title: Violence with injury (a count, a 5%% fall wanted)
    unit: count
    frequency: quarterly
    direction: decrease
    target: {type: change, baseline: same_quarter_last_year, value: -5, tolerance: 5}
    small_numbers: 20
  - id: PCT
    priority: A
    owner: ops
    title: Victims satisfied (a percentage, at least 38%%)
    unit: percent
    frequency: quarterly
    direction: increase
    target: {type: fixed, value: 38, tolerance: %s}
    small_numbers: 20
  - id: ZERO
    priority: A
    owner: ops
    title: Serious further offences (none wanted)
    unit: count
    frequency: quarterly
    direction: decrease
    target: {type: fixed, value: 0, tolerance: 1}
    small_numbers: 0
"""


def garwood(k: int) -> tuple[float, float]:
    return (0.0 if k == 0 else chi2.ppf(0.025, 2 * k) / 2), chi2.ppf(0.975, 2 * k + 2) / 2


def wilson_pct(x: int, n: int) -> tuple[float, float]:
    ci = binomtest(x, n).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low * 100, ci.high * 100


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def status_of(capsys, tmp_path: Path, rows: list[str], indicator: str, period: str = "2025/26 Q3",
              tolerance: float = 0, rating: str = "") -> dict:
    """Import ``rows`` (CSV lines after the header) into a fresh database and return one indicator's JSON status."""
    cfg = tmp_path / "indicators.yaml"
    cfg.write_text(CATALOGUE % (f", rating: {rating}" if rating else "", tolerance), encoding="utf-8")
    db = tmp_path / "csp.duckdb"
    ret = tmp_path / "return.csv"
    ret.write_text("indicator,period,value,numerator,denominator\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert cli(capsys, "--db", db, "--config", cfg, "init")[0] == 0  # import never makes a database
    code, _, err = cli(capsys, "--db", db, "--config", cfg, "import", ret, "--user", "analyst@example.org")
    assert code == 0, err
    code, out, err = cli(capsys, "--db", db, "--config", cfg, "status", "--period", period, "--format", "json")
    assert code == 0, err
    return next(s for s in json.loads(out) if s["indicator"] == indicator)


# (id, rows, indicator, tolerance, rag, amber_reason, interval (count or (x, n)), words in the reason)
CASES = [
    # B3 2025/26 Q3: 596 -> 653 against a 5% fall is a clear miss although the rise itself could be chance
    ("count-clear-miss", ["CNT,2024/25 Q3,596,,", "CNT,2025/26 Q3,653,,"], "CNT", 0, "red", None, 653,
     "at most 566); 95% range 604-705, so missed beyond chance; RED."),
    ("count-met-could-be-chance", ["CNT,2024/25 Q3,38,,", "CNT,2025/26 Q3,29,,"], "CNT", 0, "amber",
     "could_be_chance", 29, "met on its face, but that could be chance: 95% range 19-42; AMBER."),
    ("count-missed-could-be-chance", ["CNT,2024/25 Q3,600,,", "CNT,2025/26 Q3,610,,"], "CNT", 0, "amber",
     "could_be_chance", 610, "missed on its face, but that could be chance: 95% range 563-660; AMBER."),
    ("count-met-beyond-chance", ["CNT,2024/25 Q3,1302,,", "CNT,2025/26 Q3,1100,,"], "CNT", 0, "green", None, 1100,
     "so met beyond chance; GREEN."),
    ("count-within-tolerance", ["CNT,2024/25 Q3,596,,", "CNT,2025/26 Q3,575,,"], "CNT", 0, "amber",
     "within_tolerance", 575, "short of the target, but within the tolerance; AMBER."),
    ("count-too-small", ["CNT,2024/25 Q3,15,,", "CNT,2025/26 Q3,9,,"], "CNT", 0, "amber", "too_small_to_tell", 9,
     "numbers too small to rate (both below 20): too small to tell, so not rated green; AMBER."),
    # the percentage: 18 of 50 people (36%) against at least 38%
    ("pct-missed-could-be-chance", ["PCT,2025/26 Q3,,18,50"], "PCT", 0, "amber", "could_be_chance", (18, 50),
     "36.0% against a target of at least 38.0%, missed on its face, but on 50 cases that could be chance: "
     "95% range 24.1%-49.9%; AMBER."),
    ("pct-missed-beyond-chance", ["PCT,2025/26 Q3,,60,300"], "PCT", 0, "red", None, (60, 300),
     "so missed beyond chance; RED."),
    ("pct-met-beyond-chance", ["PCT,2025/26 Q3,,150,300"], "PCT", 0, "green", None, (150, 300),
     "so met beyond chance; GREEN."),
    ("pct-met-could-be-chance", ["PCT,2025/26 Q3,,22,50"], "PCT", 0, "amber", "could_be_chance", (22, 50),
     "met on its face, but on 50 cases that could be chance"),
    ("pct-within-tolerance", ["PCT,2025/26 Q3,,36,100"], "PCT", 5, "amber", "within_tolerance", (36, 100),
     "short of the target, but within the tolerance; AMBER."),
    ("pct-too-small", ["PCT,2025/26 Q3,,2,19"], "PCT", 0, "amber", "too_small_to_tell", (2, 19),
     "based on only 19 cases (fewer than 20): too small to tell, so not rated red; AMBER."),
    ("zero-best-possible", ["ZERO,2025/26 Q3,0,,"], "ZERO", 0, "green", None, 0, "the best possible figure; GREEN."),
    ("zero-clear-miss", ["ZERO,2025/26 Q3,3,,"], "ZERO", 0, "red", None, 3, "95% range 1-9, so missed beyond chance"),
]


@pytest.mark.parametrize(("rows", "indicator", "tolerance", "rag", "why", "iv", "words"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cli_judgement(capsys, tmp_path, rows, indicator, tolerance, rag, why, iv, words):
    s = status_of(capsys, tmp_path, rows, indicator, tolerance=tolerance)
    assert (s["rag"], s["amber_reason"]) == (rag, why)
    assert words in s["reason"]
    assert s["small_numbers"] == (why == "too_small_to_tell")
    expected = garwood(iv) if isinstance(iv, int) else wilson_pct(*iv)
    assert (s["lower"], s["upper"]) == pytest.approx(expected, rel=1e-6)
    assert s["interval_method"] == ("exact Poisson (Garwood)" if isinstance(iv, int) else "Wilson score")
    assert s["rating"] == "target"


def test_red_and_green_only_when_the_target_is_outside_the_interval():
    """The rule over many percentages: every green/red has the target outside its Wilson interval, every other
    figure is amber of the right kind."""
    ind = loads_catalogue(CATALOGUE % ("", 0)).indicator("PCT")
    q = Period.quarter(2025, 3)
    seen = set()
    for n in (12, 30, 80, 250, 1000):
        for x in range(0, n + 1, max(1, n // 40)):
            s = evaluate(ind, q, figures_for(ind, [Observation(q, None, float(x), float(n))]))
            lo, hi = wilson_pct(x, n)
            assert (s.lower, s.upper) == pytest.approx((lo, hi), rel=1e-9)
            seen.add(s.rag)
            if n < 20:
                assert s.rag == "amber" and s.amber_reason == "too_small_to_tell"
            elif s.rag == "green":
                assert lo > 38
            elif s.rag == "red":
                assert hi < 38
            else:
                assert s.amber_reason == "could_be_chance" and lo <= 38 <= hi
    assert seen == {"green", "amber", "red"}


def history(values: list[int], first_fy: int = 2022) -> list[str]:
    return [f"CNT,{Period.quarter(first_fy + k // 4, k % 4 + 1).label},{v},," for k, v in enumerate(values)]


def test_red_on_common_cause_says_so_in_one_sentence(capsys, tmp_path):
    # 16 quarters bouncing around 6,400: a 5% fall on last year is missed beyond chance, but nothing unusual happened
    values = [6400, 6550, 6300, 6480, 6360, 6520, 6410, 6290, 6450, 6500, 6330, 6470, 6390, 6510, 6440, 6530]
    s = status_of(capsys, tmp_path, history(values), "CNT", period="2025/26 Q4")
    assert s["rag"] == "red" and s["variation"] == "common_cause" and s["spc_points"] == 16
    assert s["disagreement"] == ("The SPC chart shows only common-cause variation, so this miss is part of the usual "
                                 "pattern: the service, not this quarter, needs to change.")
    assert s["reason"].endswith("; RED. " + s["disagreement"])


def test_no_disagreement_sentence_on_a_short_chart(capsys, tmp_path):
    s = status_of(capsys, tmp_path, ["CNT,2024/25 Q3,596,,", "CNT,2025/26 Q3,653,,"], "CNT")
    assert s["rag"] == "red" and s["variation"] == "common_cause" and s["disagreement"] is None
    assert s["reason"].endswith("; RED.")


def test_mdc_rating_rates_from_the_chart(capsys, tmp_path):
    # a steady fall (special-cause improvement for a decrease), but the process limits lie wholly above the level of
    # a 5% fall on last year: Making Data Count says the target will not be met without a change, so RED, and the
    # improvement pulling the other way is said in one sentence
    values = [700, 690, 705, 695, 700, 698, 702, 690, 680, 670, 660, 650, 640, 630, 620, 610]
    s = status_of(capsys, tmp_path, history(values), "CNT", period="2025/26 Q4", rating="mdc")
    assert (s["rating"], s["variation"], s["assurance"], s["rag"]) == (
        "mdc", "special_cause_improvement", "consistent_fail", "red")
    assert "lie wholly on the wrong side of the target, so it will not be met without a change; RED." in s["reason"]
    assert s["disagreement"] == ("The SPC chart shows special-cause improvement: it is getting better, although the "
                                 "target is missed.")
    (tmp_path / "t").mkdir()
    t = status_of(capsys, tmp_path / "t", history(values), "CNT", period="2025/26 Q4")
    # rated on the target instead: 610 against at most 617.5 (a 5% fall on 650): met on its face, but that could be
    # chance (95% range 563-660)
    assert (t["rating"], t["rag"], t["amber_reason"]) == ("target", "amber", "could_be_chance")


def test_mdc_too_few_points_is_too_small_to_tell(capsys, tmp_path):
    s = status_of(capsys, tmp_path, ["CNT,2024/25 Q3,596,,", "CNT,2025/26 Q3,653,,"], "CNT", rating="mdc")
    assert (s["rag"], s["amber_reason"]) == ("amber", "too_small_to_tell")
    assert "only 2 points on the SPC chart (fewer than 12): too small to tell; AMBER." in s["reason"]


def test_overview_counts_each_kind_of_amber(tmp_path):
    cat = loads_catalogue(CATALOGUE % ("", 5))
    q = Period.quarter(2025, 3)
    cases = {"CNT": [Observation(q.same_last_year(), 596.0), Observation(q, 575.0)],  # within tolerance
             "PCT": [Observation(q, None, 18.0, 50.0)],  # 36% against at least 38%, tolerance 5: within tolerance
             "ZERO": [Observation(q, 0.0)]}
    statuses = [evaluate(i, q, figures_for(i, cases[i.id])) for i in cat.indicators]
    counts = views.amber_counts(statuses)
    assert counts == {"within_tolerance": 2, "could_be_chance": 0, "too_small_to_tell": 0}
    assert views.amber_summary(counts) == "Amber: 2 within tolerance"
    assert views.amber_summary({"within_tolerance": 0, "could_be_chance": 0, "too_small_to_tell": 0}) == ""
    amber = next(s for s in statuses if s.indicator == "CNT")
    assert views.status_label(amber).endswith("AMBER (within tolerance)")
