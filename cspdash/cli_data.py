"""The commands on the catalogue and the returns: ``validate-config``, ``indicators``, ``import``, ``history``,
``withdraw`` and ``template``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cspdash.cli_common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    acting_user,
    emit,
    load_catalogue,
    open_store,
    resolve_paths,
    table,
)
from cspdash.errors import CspdashError

if TYPE_CHECKING:
    from cspdash.config import Catalogue


def cmd_validate_config(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    _, config = resolve_paths(args)
    cat = load_catalogue(config)
    out(f"{config}: OK - {len(cat.priorities)} priorities, {len(cat.subgroups)} subgroups, "
        f"{len(cat.indicators)} indicators, {len(cat.datasets)} datasets")
    return EXIT_OK


def indicator_records(cat: Catalogue) -> list[dict[str, Any]]:
    """One record per indicator, as ``indicators --format json`` prints them."""
    return [
        {"id": i.id, "priority": i.priority, "title": i.title, "direction": i.direction, "frequency": i.frequency,
         "unit": i.unit, "owner": i.owner, "owner_name": cat.subgroup(i.owner).name, "target_type": i.target.type,
         "target_value": i.target.value, "tolerance": i.target.tolerance, "baseline": i.target.baseline,
         "paired_with": i.paired_with, "small_numbers": i.small_numbers, "rationale": i.rationale,
         "definition": i.definition, "dataset": i.measure.dataset if i.measure else None,
         "target_source": i.target.source or None,
         "target_agreed": ({"by": i.target.agreed_by or None,
                            "date": i.target.agreed_on.isoformat() if i.target.agreed_on else None}
                           if i.target.agreed_by or i.target.agreed_on else None),
         "baseline_figures": {p.label: v for p, v in i.target.baseline_figures} or None}
        for i in cat.indicators
    ]


def cmd_indicators(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    _, config = resolve_paths(args)
    records = indicator_records(load_catalogue(config))
    if args.format == "json":
        out(json.dumps(records, indent=2))
    else:
        out(table(records, ["id", "priority", "owner", "direction", "frequency", "unit", "target_type", "title"]))
    return EXIT_OK


def cmd_import(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from cspdash.ingest import ValidationError
    from cspdash.store import source_files

    store = open_store(args)
    try:
        result = store.import_files(source_files(args.files), acting_user(args, store), args.dataset, args.dry_run,
                                    synthetic=args.synthetic)
    except ValidationError as e:
        print(f"import refused: {e}", file=sys.stderr)
        return EXIT_PROBLEMS
    finally:
        store.close()
    if args.format == "json":
        out(json.dumps(result.as_dict(), indent=2, default=str))
        return EXIT_OK
    verb = "would import" if result.dry_run else "imported"
    for u in result.uploads:
        if u.get("duplicate_of"):
            out(f"{u['file_name']}: identical to upload {u['duplicate_of']}; nothing changed")
        else:
            ident = f" as upload {u['upload_id']}" if u["upload_id"] else ""
            ident += " (marked synthetic)" if u.get("synthetic") else ""
            inside = f", {u['rows_in_area']} in {store.cat.area}" if "rows_in_area" in u else ""
            out(f"{u['file_name']}: {verb} {u['rows']} rows{inside}{ident} (sha256 {u['sha256'][:12]}...)")
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if result.changes:
        out(table([c.as_dict() for c in result.changes],
                  ["indicator", "period", "old_value", "new_value", "old_rag", "new_rag"]))
    if result.other_area_figures:
        out(f"plus {result.other_area_figures} figures for other areas (comparators)")
    if result.dry_run:
        out("dry run: nothing was stored")
    return EXIT_OK


def cmd_history(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    store = open_store(args)
    try:
        if args.indicator and not store.cat.has_indicator(args.indicator):
            raise CspdashError(f"unknown indicator {args.indicator!r}; see `indicators` for the ids")
        records = store.history(args.indicator)
    finally:
        store.close()
    emit(records, ["upload_id", "kind", "file_name", "user", "uploaded_at", "rows", "state", "sha256"],
         args.format, out)
    return EXIT_OK


def cmd_withdraw(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    store = open_store(args)
    try:
        h = store.withdraw(args.upload_id, acting_user(args, store), args.reason)
    finally:
        store.close()
    out(f"upload {h['upload_id']} ({h['file_name']}) withdrawn by {h['withdrawn_by']}; its figures no longer count")
    return EXIT_OK


def cmd_template(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from cspdash.templates import write_template

    _, config = resolve_paths(args)
    cat = load_catalogue(config)
    path = write_template(cat, args.subgroup, args.out, args.period)
    out(f"wrote {path}")
    return EXIT_OK
