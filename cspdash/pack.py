"""The data of a meeting pack: one quarter's figures as presented, built live from the store (``build_pack``) or
read back from a frozen snapshot (``PackData.from_json``), so the PDF, the workbook and the screen show the same
numbers. The words come from ``cspdash.wording`` and ``cspdash.vocab``, as on screen.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from cspdash.config import NOT_RECORDED, Indicator, Priority
from cspdash.errors import CspdashError
from cspdash.periods import Period, parse_period
from cspdash.status import Rollup, Status, fmt, rated_grain, rollup
from cspdash.wording import NONE, assurance_words, change_text, variation_words, when

if TYPE_CHECKING:
    from cspdash.store import Store

PACK_FORMAT = 1  # version of PackData.to_json; a snapshot written by a newer format is refused


@dataclass(frozen=True)
class Comment:
    """A chair's commentary as presented: the text, who wrote it and when."""

    text: str
    user: str
    at: str


#: A priority of the plan as presented: the catalogue's own (a snapshot's JSON holds its fields and reads back into it).
PriorityInfo = Priority


@dataclass(frozen=True)
class PackItem:
    """One indicator as presented: its status and every text and chart point the pack shows."""

    indicator: str
    priority: str
    title: str
    owner: str
    unit: str
    decimals: int
    synthetic: bool  # the rated figure came from an upload marked synthetic
    status: Status
    value_text: str
    target_display: str  # the level to reach and the rule, e.g. "3,865 (a 5% fall)"
    travel: str  # direction of travel in words, e.g. "Up 12% on 2024/25 Q3 (worse)"
    variation_text: str
    assurance_text: str
    commentary: tuple[Comment, ...] = ()
    history: tuple[dict, ...] = ()  # chart rows: period, value, shown, lower, upper, mean, lpl, upl, target, point_type, ...
    range_display: str = ""  # the figure's 95% range in its unit, e.g. "604-705"; "" when it has none
    target_source: str = NOT_RECORDED  # where the target's level came from
    target_agreed: str = NOT_RECORDED  # who agreed it and when
    # Rates per resident against London (indicators with compare:): sentence, note, per, benchmark, rows (rate_frame
    # records) and funnel (funnel_frame records); {"note": why} alone when there is no comparison; None if not compared.
    comparison: dict | None = None

    @property
    def label(self) -> str:
        """``A1 ASB demand - ...``."""
        return f"{self.indicator} {self.title}"


@dataclass(frozen=True)
class SnapshotInfo:
    """Who froze a pack, when, and its id."""

    snapshot_id: int
    frozen_by: str
    frozen_at: str


@dataclass(frozen=True)
class PackData:
    """Everything a pack shows for one quarter."""

    partnership: str
    area: str
    marking: str
    period: str
    data_as_at: str | None
    generated_at: str
    rollup_rule: str
    priorities: tuple[PriorityInfo, ...]
    items: tuple[PackItem, ...]
    meeting_date: date | None = None
    snapshot: SnapshotInfo | None = None

    @property
    def statuses(self) -> list[Status]:
        """The statuses presented, in catalogue order."""
        return [i.status for i in self.items]

    @property
    def rollups(self) -> list[Rollup]:
        """Each priority's roll-up of the statuses presented."""
        return [rollup(p.id, self.statuses, self.rollup_rule) for p in self.priorities]

    def items_of(self, priority: str) -> list[PackItem]:
        """The items of one priority."""
        return [i for i in self.items if i.priority == priority]

    @property
    def exceptions(self) -> dict[str, list[PackItem]]:
        """Items for the exception report: ``red``, ``concern`` (SPC) and ``missing`` (no data)."""
        return {
            "red": [i for i in self.items if i.status.rag == "red"],
            "concern": [i for i in self.items if i.status.variation == "special_cause_concern"
                        or i.status.assurance == "consistent_fail"],
            "missing": [i for i in self.items if i.status.rag == "no_data"],
        }

    def to_json(self) -> str:
        """The pack as JSON (what a snapshot stores)."""
        d = asdict(self)
        d["format"] = PACK_FORMAT
        d["meeting_date"] = self.meeting_date.isoformat() if self.meeting_date else None
        for item in d["items"]:
            item["status"]["notes"] = list(item["status"]["notes"])
        return json.dumps(d, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> PackData:
        """A pack from ``to_json`` output."""
        d = json.loads(text)
        fmt_version = d.pop("format", 1)
        if fmt_version > PACK_FORMAT:
            raise CspdashError(f"this pack was frozen by a newer cspdash (pack format {fmt_version}); upgrade cspdash")
        items = []
        for it in d.pop("items"):
            st = it.pop("status")
            st["notes"] = tuple(st.get("notes") or ())
            items.append(PackItem(status=Status(**st), commentary=tuple(Comment(**c) for c in it.pop("commentary")),
                                  history=tuple(it.pop("history")), **it))
        snap, meeting = d.pop("snapshot"), d.pop("meeting_date")
        return cls(priorities=tuple(PriorityInfo(**p) for p in d.pop("priorities")), items=tuple(items),
                   meeting_date=date.fromisoformat(meeting) if meeting else None,
                   snapshot=SnapshotInfo(**snap) if snap else None, **d)


def parse_meeting_date(value: date | str | None) -> date | None:
    """A meeting date from a ``date``, ``2026-03-12`` or ``12/03/2026`` (day first); None stays None."""
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %B %Y", "%d %b %Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise CspdashError(f"meeting date {value!r} is not a date; write it as 2026-03-12 or 12/03/2026 (day first)")


def _target_display(ind: Indicator, s: Status) -> str:
    if ind.target.type == "change" and s.target is not None:
        return f"{fmt(ind, s.target)} ({s.target_text.replace(' (relative)', ', relative')})"
    if ind.target.type == "cumulative" and s.target is not None:
        return f"{fmt(ind, s.target)} due so far ({fmt(ind, ind.target.value)} a year)"
    return s.target_text or NONE


def build_pack(store: Store, period: Period | str | None = None, meeting_date: date | str | None = None) -> PackData:
    """The pack for ``period`` (default: the latest complete quarter) from the store's current figures."""
    from cspdash import views  # the screen's own builders: the pack shows the numbers the pages show

    cat = store.cat
    if period is None:
        period = store.latest_complete_quarter()
        if period is None:
            raise CspdashError("the database has no figures yet; import a return first (or run `demo`)")
    quarter = parse_period(period, grain="quarter") if isinstance(period, str) else period.at("quarter")
    statuses = store.statuses(quarter)
    comments: dict[tuple[str, str], list[Comment]] = defaultdict(list)
    for c in store.commentary():
        comments[(c["indicator"], c["period"])].append(Comment(c["text"], c["user"], when(c["uploaded_at"], none="")))
    items = []
    for s in statuses:
        ind = cat.indicator(s.indicator)
        h = views.history_frame(store, ind.id, quarter)
        history = tuple({k: _plain(v) for k, v in row.items() if k != "start"} for row in h.to_dict("records"))
        rated = s.rated_period or quarter.at(rated_grain(ind)).label
        items.append(PackItem(
            indicator=ind.id, priority=ind.priority, title=ind.title, owner=cat.subgroup(ind.owner).name,
            unit=ind.unit, decimals=ind.decimals, synthetic=store.synthetic_figure(ind.id, quarter), status=s,
            value_text=views.shown_status(ind, s),
            target_display=_target_display(ind, s), travel=change_text(ind, s, arrows=False),
            variation_text=variation_words(s.variation),
            assurance_text=assurance_words(s.assurance),
            commentary=tuple(comments.get((ind.id, rated), ())), history=history,
            range_display="" if s.lower is None else views.range_shown(ind, s.lower, s.upper),
            target_source=ind.target.source_text, target_agreed=ind.target.agreed_text,
            comparison=_comparison_data(store, ind, quarter)))
    return PackData(
        partnership=cat.name, area=cat.area, marking=cat.marking, period=quarter.label,
        data_as_at=views.data_as_at(store), generated_at=datetime.now(UTC).strftime("%d %b %Y %H:%M UTC"),
        rollup_rule=cat.rollup, priorities=cat.priorities,
        items=tuple(items), meeting_date=parse_meeting_date(meeting_date))


def _comparison_data(store: Store, ind: Indicator, quarter: Period) -> dict | None:
    """What the pack shows of an indicator's rate comparison (see ``PackItem.comparison``)."""
    from cspdash import compare, views

    if ind.compare is None:
        return None
    try:
        c = compare.compare_areas(store, ind.id, quarter)
    except CspdashError as e:
        return {"note": f"No rate comparison: {e}."}
    if len(c.rows) < 2:
        return {"note": f"No rate comparison: fewer than two areas have a rate for {c.period}."}
    records = [{k: _plain(v) for k, v in r.items()} for r in views.rate_frame(c).to_dict("records")]
    funnel = [{k: _plain(v) for k, v in r.items()} for r in views.funnel_frame(c).to_dict("records")]
    return {"sentence": compare.sentence(c), "note": c.note, "per": c.per, "benchmark": c.benchmark,
            "period": c.period, "rows": records, "funnel": funnel}


def _plain(v: Any) -> Any:
    """A JSON-safe scalar (NaN becomes None)."""
    if v is None or isinstance(v, str | bool | int):
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return None if math.isnan(f) else f


def resolve(store: Store | None, source: Any = None, meeting_date: date | str | None = None) -> PackData:
    """The pack to render: ``source`` is a PackData, a snapshot (anything with ``.pack``), or a period for a live pack."""
    if isinstance(source, PackData):
        return source
    if isinstance(getattr(source, "pack", None), PackData):
        return source.pack
    if store is None:
        raise CspdashError("a live pack needs the store; pass a Store, or a snapshot to render a frozen pack")
    return build_pack(store, source, meeting_date)


def file_name(pack: PackData, extension: str) -> str:
    """``csp-pack-2025-26-Q3.pdf`` (with ``-snapshot-7`` for a frozen pack)."""
    tag = pack.period.replace("/", "-").replace(" ", "-")
    snap = f"-snapshot-{pack.snapshot.snapshot_id}" if pack.snapshot else ""
    return f"csp-pack-{tag}{snap}.{extension.lstrip('.')}"


def with_snapshot(pack: PackData, info: SnapshotInfo, meeting_date: date) -> PackData:
    """The pack marked as frozen (used by ``snapshots.load``)."""
    return replace(pack, snapshot=info, meeting_date=meeting_date)
