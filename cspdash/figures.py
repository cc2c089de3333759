"""The figures as they count now: current observations, figures, statuses, coverage, history, series, provenance,
commentary and area comparisons: the reads every page and the pack start from.

The SQL runs on both engines as it is (``db.Engine``): the latest row of a group is a ``row_number()`` in a subquery
(DuckDB's ``QUALIFY`` is not PostgreSQL's), a list parameter is matched with ``x = ANY(?)``, every subquery in
``FROM`` is named, and ``"user"`` is quoted where PostgreSQL would read it as its own ``user``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from cspdash import datasets as ds
from cspdash import db
from cspdash.config import Catalogue, Dataset
from cspdash.errors import CspdashError
from cspdash.periods import Period, parse_period
from cspdash.status import Figure, Observation, Rollup, Status, evaluate, figures_for, rated_grain, rollup

CURRENT_OBS = """
    SELECT indicator, period, grain, area, value, numerator, denominator, upload_id, provisional FROM (
        SELECT o.indicator, o.period, o.grain, o.area, o.value, o.numerator, o.denominator, o.upload_id,
               o.provisional, row_number() OVER (PARTITION BY o.indicator, o.period, o.grain, o.area
                                                 ORDER BY o.upload_id DESC) AS newest
        FROM observations o JOIN uploads u USING (upload_id)
        WHERE u.state = 'active') AS ranked
    WHERE newest = 1
"""


class Figures:
    """Reads of the stored figures and commentary, for one catalogue; the current figures cached per data version."""

    def __init__(self, database: db.Engine, cat: Catalogue) -> None:
        self.db = database
        self.cat = cat
        self._figures: tuple[tuple[int, int], dict[str, dict[Period, Figure]]] | None = None  # (version, figures)

    def is_empty(self) -> bool:
        """Whether nothing has ever been uploaded."""
        return self.db.cursor().execute("SELECT count(*) FROM uploads").fetchall()[0][0] == 0

    def current_observations(self, indicators: Sequence[str] | None = None, area: str = "") -> dict[str, list[Observation]]:
        """The figures that count now (latest active upload per indicator, period and area), by indicator."""
        sql = (f"SELECT indicator, period, grain, value, numerator, denominator, provisional FROM ({CURRENT_OBS}) "
               "AS current_obs WHERE area = ?")
        params: list = [area]
        if indicators is not None:
            sql += " AND indicator = ANY(?)"
            params.append(list(indicators))
        out: dict[str, list[Observation]] = defaultdict(list)
        period_of = _period_parser()
        for iid, period, grain, value, num, den, provisional in self.db.cursor().execute(sql, params).fetchall():
            out[iid].append(Observation(period_of(period, grain), value, num, den, provisional=bool(provisional)))
        return out

    def current_figures(self) -> dict[str, dict[Period, Figure]]:
        """Every catalogue indicator's figures at its rated grain (``figures_for`` of the partnership's own current
        observations), by indicator id; recomputed only after a commit changes the data."""
        # Every page, the status of each quarter and the quarter picker start from these. Keyed on data_version():
        # read before the figures, so a commit landing in between only makes the next call recompute.
        data = self.db.data_version()  # may reopen the database: its generation is read after
        version = (self.db.generation, data)  # a reopened database is read again
        cached = self._figures
        if cached is None or cached[0] != version:
            obs = self.current_observations()
            cached = (version, {i.id: figures_for(i, obs.get(i.id, ())) for i in self.cat.indicators})
            self._figures = cached
        return {iid: dict(figs) for iid, figs in cached[1].items()}  # copies: a caller may change its own

    def statuses(self, period: Period | None = None) -> list[Status]:
        """Every indicator's status for ``period`` (default: the latest complete quarter)."""
        period = period or self.latest_complete_quarter()
        figures = self.current_figures()
        if period is None:
            period = Period.containing(datetime.now().date()).previous()
        return [evaluate(i, period.at("quarter"), figures[i.id], self.cat.rating) for i in self.cat.indicators]

    def statuses_by_quarter(self, quarters: Iterable[Period] | None = None) -> dict[Period, list[Status]]:
        """Every indicator's status for each of ``quarters`` (default: every quarter with a complete figure),
        from one read of the figures: the trend of a whole history, or a pack covering several quarters."""
        figures = self.current_figures()
        quarters = list(self.quarter_coverage()) if quarters is None else quarters
        return {q: [evaluate(i, q.at("quarter"), figures[i.id], self.cat.rating) for i in self.cat.indicators] for q in quarters}

    def rollups(self, statuses: Sequence[Status]) -> list[Rollup]:
        """Each priority's roll-up of ``statuses`` by the catalogue's rule."""
        return [rollup(p.id, statuses, self.cat.rollup) for p in self.cat.priorities]

    def quarter_coverage(self) -> dict[Period, int]:
        """For every quarter with any figure: how many indicators have a complete figure for it (the partnership's
        own area, each indicator at its rated grain; an annual indicator's complete year counts in its quarters),
        oldest first. A quarter whose figures are all incomplete (a month of a monthly measure) counts 0."""
        figures = self.current_figures()
        counts: dict[Period, int] = defaultdict(int)
        years: dict[Period, int] = defaultdict(int)
        for ind in self.cat.indicators:
            grain = rated_grain(ind)
            for p, f in figures[ind.id].items():
                done = f.complete and f.value is not None
                if grain == "quarter" and p.grain == "quarter":
                    counts[p] += done
                elif grain == "year" and p.grain == "year":
                    years[p] += done
        return {q: counts[q] + years.get(q.at("year"), 0) for q in sorted(counts)}

    def is_largely_complete(self, count: int) -> bool:
        """Whether ``count`` complete figures reach the catalogue's ``partnership.complete_share`` of indicators."""
        return count > 0 and count >= self.cat.complete_share * len(self.cat.indicators)

    def complete_quarters(self) -> list[Period]:
        """Largely complete quarters, oldest first: at least ``partnership.complete_share`` (default half) of the
        indicators have a complete figure for the partnership's own area."""
        return [q for q, n in self.quarter_coverage().items() if self.is_largely_complete(n)]

    def latest_complete_quarter(self) -> Period | None:
        """The default quarter of every screen and command: the latest largely complete quarter. An early return for
        a later quarter never moves it. When no quarter is largely complete yet (a new partnership), the latest of
        the quarters with the most complete figures; None when there is no data."""
        coverage = self.quarter_coverage()
        if not coverage:
            return None
        complete = [q for q, n in coverage.items() if self.is_largely_complete(n)]
        if complete:
            return complete[-1]
        most = max(coverage.values())
        return max(q for q, n in coverage.items() if n == most) if most else None

    def history(self, indicator: str | None = None) -> list[dict]:
        """Uploads, newest first, with who, when, what and their state (optionally those touching an indicator)."""
        sql = """SELECT upload_id, kind, dataset, file_name, sha256, user_name AS user, uploaded_at, rows, state,
                        withdrawn_at, withdrawn_by, withdraw_reason, note, size_bytes, synthetic
                 FROM uploads"""
        params: list = []
        if indicator:
            sql += """ WHERE upload_id IN (SELECT upload_id FROM observations WHERE indicator = ?
                                           UNION SELECT upload_id FROM commentary WHERE indicator = ?)"""
            params = [indicator, indicator]
        return db.rows(self.db.cursor().execute(sql + " ORDER BY upload_id DESC", params))

    def series(self, indicator: str, area: str = "") -> list[dict]:
        """Every figure ever stored for an indicator (restatements and withdrawn ones too), with its upload."""
        rel = self.db.cursor().execute(
            """SELECT o.period, o.grain, o.period_start, o.value, o.numerator, o.denominator, o.upload_id,
                      u.file_name, u.user_name AS user, u.uploaded_at, u.state, o.source_row, o.provisional,
                      u.synthetic,
                      o.upload_id = max(CASE WHEN u.state = 'active' THEN o.upload_id END)
                          OVER (PARTITION BY o.period, o.grain) AS current
               FROM observations o JOIN uploads u USING (upload_id)
               WHERE o.indicator = ? AND o.area = ?
               ORDER BY o.period_start, o.grain, o.upload_id""", [indicator, area])
        return db.rows(rel)

    def provenance(self, indicator: str, period: Period) -> list[dict]:
        """The stored figures behind an indicator's rated figure for ``period``, each with file, person and time."""
        ind = self.cat.indicator(indicator)
        rated = period.at(rated_grain(ind))
        labels = [rated.label, *[m.label for m in rated.months()], *[q.label for q in rated.quarters()]]
        return [r for r in self.series(indicator) if r["current"] and r["period"] in labels]

    def synthetic_figure(self, indicator: str, period: Period) -> bool:
        """Whether any stored figure behind the indicator's rated figure for ``period`` came from an upload marked
        synthetic (invented figures: the demo's partner returns, ``import --synthetic``)."""
        return any(r["synthetic"] for r in self.provenance(indicator, period))

    def commentary(self, indicator: str | None = None, period: Period | None = None) -> list[dict]:
        """The current commentary (latest active per indicator and period), with who wrote it and when."""
        sql = """SELECT c.indicator, c.period, c.text, u.user_name AS "user", u.uploaded_at, c.upload_id, u.file_name,
                        row_number() OVER (PARTITION BY c.indicator, c.period ORDER BY c.upload_id DESC) AS newest
                 FROM commentary c JOIN uploads u USING (upload_id) WHERE u.state = 'active'"""
        params: list = []
        if indicator:
            sql += " AND c.indicator = ?"
            params.append(indicator)
        if period is not None:
            sql += " AND c.period = ?"
            params.append(period.label)
        rel = self.db.cursor().execute(
            'SELECT indicator, period, text, "user", uploaded_at, upload_id, file_name '
            f"FROM ({sql}) AS ranked WHERE newest = 1 ORDER BY indicator, period", params)
        return db.rows(rel)

    def area_values(self, indicator: str, period: Period) -> list[dict]:
        """Every area's figure for an indicator's rated ``period`` (the partnership's own area named), largest first."""
        ind = self.cat.indicator(indicator)
        rated = period.at(rated_grain(ind))
        # Only the figures that roll up into the rated period: every area's whole history made this 30x slower.
        labels = [rated.label, *[m.label for m in rated.months()], *[q.label for q in rated.quarters()]]
        rows = self.db.cursor().execute(
            f"SELECT area, period, grain, value, numerator, denominator FROM ({CURRENT_OBS}) AS current_obs "
            "WHERE indicator = ? AND area <> '' AND period = ANY(?) ORDER BY area, period",
            [indicator, labels]).fetchall()
        by_area: dict[str, list[Observation]] = defaultdict(list)
        period_of = _period_parser()
        for area, p, g, v, n, d in rows:
            by_area[area].append(Observation(period_of(p, g), v, n, d))
        figures = {area: figures_for(ind, obs) for area, obs in by_area.items()}
        own = self.current_figures()[indicator]
        if own:  # the partnership's own figures, under its name
            figures[self.cat.area] = own
        out = []
        for area, figs in figures.items():
            f = figs.get(rated)
            if f is not None and f.value is not None:
                out.append({"area": area, "value": f.value, "complete": f.complete, "own": area == self.cat.area})
        return sorted(out, key=lambda r: -r["value"])

    def population_rows(self, dataset: str, year: int) -> list[tuple[str, str, str, float]]:
        """(code, area, age_group, population) of a population dataset for mid-``year``, as it counts now: each
        area's age group from the newest active upload holding it."""
        if dataset_of(self.cat, dataset).format != "population":
            raise CspdashError(f"the dataset {dataset!r} is not of format population")
        return self.db.cursor().execute(
            "SELECT code, area, age_group, population FROM (SELECT code, area, age_group, population, row_number() "
            "OVER (PARTITION BY lower(code), lower(age_group) ORDER BY upload_id DESC) AS newest "
            f"FROM {ds.table_name(dataset)} WHERE year = ? AND upload_id IN "
            "(SELECT upload_id FROM uploads WHERE state = 'active' AND kind = 'dataset' AND dataset = ?)) AS ranked "
            "WHERE newest = 1 ORDER BY area, age_group", [str(year), dataset]).fetchall()

    def events(self, limit: int = 200) -> list[dict]:
        """The audit trail, newest first."""
        rel = self.db.cursor().execute("SELECT * FROM events ORDER BY event_id DESC LIMIT ?", [limit])
        return db.rows(rel)


def dataset_of(cat: Catalogue, name: str) -> Dataset:
    """The catalogue's dataset ``name``; a CspdashError naming the declared ones when there is none."""
    try:
        return cat.dataset(name)
    except StopIteration:
        known = ", ".join(d.name for d in cat.datasets) or "none"
        raise CspdashError(f"no dataset named {name!r} in the catalogue (declared: {known})") from None


def _period_parser() -> Callable[[str, str], Period]:
    """``parse_period(label, grain=grain)``, remembered for the labels already seen (a few hundred periods recur
    across tens of thousands of stored figures)."""
    seen: dict[tuple[str, str], Period] = {}

    def period_of(label: str, grain: str) -> Period:
        p = seen.get((label, grain))
        if p is None:
            p = seen[(label, grain)] = parse_period(label, grain=grain)
        return p

    return period_of


def _area(cat: Catalogue, area: str) -> str:
    a = " ".join(area.split())
    return "" if a.casefold() in (cat.area.casefold(), cat.name.casefold(), "") else a
