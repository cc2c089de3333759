"""The screen's returns: the submissions tracker, the upload history, the Upload page (kinds, templates, previews,
refused checks), commentary choices and the accounts table.

Part of ``cspdash.views``, which re-exports every public name here; pages call them through ``views``.
"""

from __future__ import annotations

import tempfile
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from itertools import pairwise
from pathlib import Path

import pandas as pd

from cspdash import auth
from cspdash.auth import User
from cspdash.config import Catalogue
from cspdash.errors import ConfigError, CspdashError
from cspdash.ingest import ValidationError
from cspdash.periods import Period
from cspdash.status import rated_grain
from cspdash.store import ImportResult, Store
from cspdash.views_status import quarter, rag_label, shown
from cspdash.vocab import SUBMISSION_WORDS
from cspdash.wording import NONE, when

# --- submissions tracker ------------------------------------------------------------------------

def submissions_frame(store: Store, period: Period) -> pd.DataFrame:
    """For each indicator: owner, whether ``period`` has its figure (complete/incomplete/missing), last upload."""
    cat = store.cat
    figures = store.current_figures()
    rows = []
    for ind in cat.indicators:
        rated = period.at(rated_grain(ind))
        fig = figures[ind.id].get(rated)
        if fig is None or (fig.value is None and fig.complete):
            state = "missing"
        elif not fig.complete:
            state = "incomplete"
        else:
            state = "complete"
        prov = store.provenance(ind.id, period) if state != "missing" else []
        last = max(prov, key=lambda r: r["uploaded_at"]) if prov else None
        detail = ""
        if fig is not None and fig.missing:
            detail = "missing " + ", ".join(m.display for m in fig.missing)
        rows.append({"indicator": ind.id, "title": ind.title, "priority": ind.priority, "owner": ind.owner,
                     "owner_name": cat.subgroup(ind.owner).name, "period": rated.label, "state": state,
                     "Submission": SUBMISSION_WORDS[state], "detail": detail,
                     "file": last["file_name"] if last else NONE,
                     "last_upload": when(last["uploaded_at"]) if last else NONE, "by": last["user"] if last else NONE})
    return pd.DataFrame(rows)


SUBMISSION_COLUMNS = ("Indicator", "Title", "Owner", "Period", "Submission", "Detail", "Last upload", "By", "File")
SUBMISSION_RAG = {"complete": "green", "incomplete": "amber", "missing": "red"}


def submissions_display(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The tracker's table for the screen, and the RAG colour of each row's Submission cell."""
    table = frame.rename(columns={"indicator": "Indicator", "title": "Title", "owner_name": "Owner", "period": "Period",
                                  "detail": "Detail", "last_upload": "Last upload", "by": "By", "file": "File"})
    return table[list(SUBMISSION_COLUMNS)], frame["state"].map(SUBMISSION_RAG)


def submissions_headline(frame: pd.DataFrame) -> str:
    """``21 complete · 1 incomplete · 3 missing``."""
    counts = frame["state"].value_counts() if len(frame) else pd.Series(dtype=int)
    return " · ".join(f"{counts.get(k, 0)} {k}" for k in SUBMISSION_WORDS)


def submissions_late(frame: pd.DataFrame, period: Period) -> str | None:
    """A sentence naming the indicators without a complete figure and their owners, or None."""
    late = frame[frame["state"] != "complete"]
    if late.empty:
        return None
    who = "; ".join(f"{r.indicator} ({r.owner_name})" for r in late.itertuples())
    return f"{len(late)} indicator(s) without a complete figure for {period.label}: {who}"


# --- history ------------------------------------------------------------------------------------

def uploads_frame(store: Store) -> pd.DataFrame:
    """Every upload, newest first, with its state and how many figures it restated or has had restated."""
    hist = store.history()
    restates: Counter[int] = Counter()
    restated: Counter[int] = Counter()
    for ind in store.cat.indicators:
        by_period: dict[tuple[str, str], list[int]] = defaultdict(list)
        for r in store.series(ind.id):
            by_period[(r["period"], r["grain"])].append(r["upload_id"])
        for ids in by_period.values():
            ids = sorted(set(ids))
            for earlier, later in pairwise(ids):
                restates[later] += 1
                restated[earlier] += 1
    rows = []
    for h in hist:
        uid = h["upload_id"]
        what = h["dataset"] or ("commentary" if h["kind"] == "commentary" else "indicator return")
        state = "🚫 withdrawn" if h["state"] == "withdrawn" else "✅ active"
        rows.append({"upload_id": uid, "State": state, "File": h["file_name"], "What": what, "By": h["user"],
                     "Uploaded": when(h["uploaded_at"]), "Rows": h["rows"], "Restates": restates.get(uid, 0),
                     "Restated later": restated.get(uid, 0),
                     "Withdrawn": (f"{when(h['withdrawn_at'])} by {h['withdrawn_by']}"
                                   + (f": {h['withdraw_reason']}" if h["withdraw_reason"] else ""))
                     if h["state"] == "withdrawn" else "",
                     "Note": h["note"] or "", "state": h["state"], "kind": h["kind"]})
    return pd.DataFrame(rows, columns=["upload_id", "State", "File", "What", "By", "Uploaded", "Rows", "Restates",
                                       "Restated later", "Withdrawn", "Note", "state", "kind"])


def original_name(upload_id: int, file_name: str) -> str:
    """The download name of an upload's original file: ``upload-15-returns.csv``."""
    if file_name.startswith("("):  # commentary typed in the app has no file of its own
        return f"upload-{upload_id}-commentary.txt"
    return f"upload-{upload_id}-{file_name}"


def uploads_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The uploads table for the screen."""
    cols = ["upload_id", "State", "File", "What", "Restates", "Restated later", "Withdrawn", "By", "Uploaded", "Rows",
            "Note"]
    return frame[cols].rename(columns={"upload_id": "Upload"})


def upload_choices(frame: pd.DataFrame, active_only: bool = False) -> dict[int, str]:
    """``{15: "15: returns.csv (who, when)"}`` for a picker, newest first; optionally active uploads only."""
    rows = frame[frame["state"] == "active"] if active_only else frame
    return {int(r.upload_id): f"{r.upload_id}: {r.File} ({r.By}, {r.Uploaded})" for r in rows.itertuples()}


def upload_file_name(frame: pd.DataFrame, upload_id: int) -> str:
    """The name the original of an upload downloads as."""
    return original_name(upload_id, str(frame.loc[frame["upload_id"] == upload_id, "File"].iloc[0]))


# --- upload -------------------------------------------------------------------------------------

RETURN_KIND = "return"


def can_mark_synthetic(user: User | None) -> bool:
    """Whether ``user`` may mark an upload synthetic on the Upload page: admins (and open mode's implicit admin)."""
    return user is not None and user.role == "admin"


def upload_kinds(cat: Catalogue) -> dict[str, str]:
    """What an uploaded file can be: ``return`` or a catalogue dataset name, with a description."""
    kinds = {RETURN_KIND: "Indicator return (CSV or XLSX, from a subgroup template)"}
    for d in cat.datasets:
        kinds[d.name] = f"Record-level extract: {d.name} - {d.description}" if d.description else d.name
    return kinds


def upload_types(kind: str) -> list[str]:
    """The file extensions accepted for a kind of upload."""
    return ["csv", "xlsx"] if kind == RETURN_KIND else ["csv", "parquet"]


def template_bytes(cat: Catalogue, subgroup: str, extension: str, period: str | None = None) -> bytes:
    """A subgroup's return template as CSV or XLSX bytes."""
    from cspdash.templates import write_template

    if extension not in ("csv", "xlsx"):
        raise CspdashError(f"a template is .csv or .xlsx, not .{extension}")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_template(cat, subgroup, Path(tmp) / f"template.{extension}", period)
        return path.read_bytes()


def template_quarters(store: Store, today: date) -> list[str]:
    """Ended quarters a template can be pre-filled with, newest first: the last ended quarter and the eight before
    it, plus the quarter after the latest complete one when that has ended (the return most likely due)."""
    last_ended = Period.containing(today).previous()
    qs = {last_ended.shift(-k) for k in range(9)}
    latest = store.latest_complete_quarter()
    if latest is not None and latest.shift(1) <= last_ended:
        qs.add(latest.shift(1))
    return [q.label for q in sorted(qs, reverse=True)]


def template_quarter_default(store: Store, subgroup: str, today: date) -> str:
    """The quarter a subgroup's template starts on: the latest ended quarter it still owes (some indicator it
    returns by hand has no complete figure for it, and that figure's period has ended), else the last ended one."""
    figures = store.current_figures()
    owned = [i for i in store.cat.indicators_of(owner=subgroup) if i.measure is None]
    labels = template_quarters(store, today)
    for label in labels:
        q = quarter(label)
        for ind in owned:
            rated = q.at(rated_grain(ind))
            fig = figures[ind.id].get(rated)
            if rated.end < today and (fig is None or not fig.complete or fig.value is None):
                return label
    return labels[0]


def template_subgroups(cat: Catalogue, user: User | None) -> dict[str, str]:
    """Subgroups whose template ``user`` is offered (id → name): a chair's own, everyone else's all."""
    mine = set(user.subgroups) if user is not None and user.role == "chair" else None
    return {g.id: g.name for g in cat.subgroups if mine is None or g.id in mine}


ACCOUNT_STATES = {"active": "✅ Active", "locked": "🔒 Locked out", "disabled": "⛔ Disabled"}


def accounts_frame(users: Sequence[dict]) -> pd.DataFrame:
    """The accounts table (from ``Store.list_users``): e-mail, role, subgroups, state in words, sign-in, last seen."""
    rows = [{"E-mail": u["email"], "Role": u["role"], "Subgroups": ", ".join(u["subgroups"]) or NONE,
             "State": ACCOUNT_STATES["disabled" if u["disabled"] else "locked" if u["locked"] else "active"],
             "Sign-in": "password" if u["local_password"] else "identity provider",
             "Last signed in": when(u["last_signin_at"]) if u["last_signin_at"] else NONE,
             "Created by": u["created_by"]} for u in users]
    return pd.DataFrame(rows, columns=["E-mail", "Role", "Subgroups", "State", "Sign-in", "Last signed in",
                                       "Created by"])


def template_name(subgroup: str, period: str | None, extension: str) -> str:
    """``return-asb-2025-26-Q3.csv``."""
    tag = (period or "").replace("/", "-").replace(" ", "-")
    return f"return-{subgroup}{'-' + tag if tag else ''}.{extension}"


def preview_frame(result: ImportResult, cat: Catalogue) -> pd.DataFrame:
    """What an import does: indicator, period, value before → after and RAG before → after."""
    rows = []
    for c in result.changes:
        ind = cat.indicator(c.indicator)
        rows.append({"Indicator": f"{ind.id} {ind.title}", "Period": c.period,
                     "Value": f"{shown(ind, c.old_value)} → {shown(ind, c.new_value)}",
                     "Status": f"{rag_label(c.old_rag)} → {rag_label(c.new_rag)}",
                     "Changes status": "yes" if c.old_rag != c.new_rag else "no"})
    return pd.DataFrame(rows, columns=["Indicator", "Period", "Value", "Status", "Changes status"])


def uploads_summary(result: ImportResult) -> list[str]:
    """One sentence per file of an import (or its preview)."""
    out = []
    for u in result.uploads:
        inside = f", {u['rows_in_area']:,} of them in the partnership's area" if "rows_in_area" in u else ""
        inside += ", marked synthetic" if u.get("synthetic") else ""
        if u.get("duplicate_of"):
            out.append(f"{u['file_name']}: identical to upload {u['duplicate_of']}; nothing will change.")
        elif u.get("upload_id"):
            out.append(f"{u['file_name']}: stored as upload {u['upload_id']} ({_rows(u['rows'])}{inside}).")
        else:
            out.append(f"{u['file_name']}: {_rows(u['rows'])} ready to store{inside}.")
    if result.other_area_figures:
        out.append(f"Plus {result.other_area_figures:,} figures for other areas (comparators).")
    return out


def _rows(n: int) -> str:
    return f"{n:,} row{'' if n == 1 else 's'}"


def problems_frame(err: ValidationError) -> pd.DataFrame:
    """The problems of a refused upload: file, row, column, value, problem, fix."""
    rows = [p.as_dict() for p in err.problems]
    return pd.DataFrame({"File": [r["file"] for r in rows], "Row": [r["row"] for r in rows],
                         "Column": [r["column"] or "" for r in rows], "Value": [r["value"] or "" for r in rows],
                         "Problem": [r["message"] for r in rows], "Fix": [r["fix"] for r in rows]})


def check_summary(err: CspdashError) -> CspdashError:
    """What the upload page keeps of a refused check between reruns: the words and the (bounded) problems, never
    the frames the error was raised in, which hold the file's bytes and cells."""
    if isinstance(err, ValidationError):
        return ValidationError(err.problems, err.more)
    if isinstance(err, ConfigError):
        return ConfigError(err.problems, err.source)
    return CspdashError(str(err))


def problems_message(err: ValidationError) -> str:
    """``2 problems found; nothing was stored. Fix them in the file and upload it again.``"""
    total = len(err.problems) + err.more
    more = f" (the first {len(err.problems)} are listed)" if err.more else ""
    return (f"The upload was refused: {total} problem{'s' if total != 1 else ''} found{more}; nothing was stored. "
            "Fix them in the file and upload it again.")


def commentary_choices(cat: Catalogue, user: User | None = None) -> list[str]:
    """Indicator ids in catalogue order that ``user`` may comment on (all of them when no user is given)."""
    return [i.id for i in cat.indicators if user is None or auth.allowed(user, "comment", [i.owner])]


def withdrawable(store: Store, frame: pd.DataFrame, user: User) -> dict[int, str]:
    """The active uploads ``user`` may withdraw, for a picker (datasets: admins only; returns: their owners)."""
    out = {}
    for uid, label in upload_choices(frame, active_only=True).items():
        kind = frame.loc[frame["upload_id"] == uid, "kind"].iloc[0]
        action = "import_dataset" if kind == "dataset" else "withdraw"
        owners = [] if kind == "dataset" else store.upload_owners(uid)
        if auth.allowed(user, action, owners):
            out[uid] = label
    return out


def indicator_label(cat: Catalogue, indicator: str) -> str:
    """``A1 ASB demand - calls to police ...``."""
    return f"{indicator} {cat.indicator(indicator).title}"


def looks_like_email(text: str) -> bool:
    """Whether ``text`` is shaped like an e-mail address (one @, a dot after it, no spaces)."""
    t = text.strip()
    if " " in t or t.count("@") != 1:
        return False
    local, domain = t.split("@")
    return bool(local) and "." in domain.strip(".") and not domain.startswith(".")
