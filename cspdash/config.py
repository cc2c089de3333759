"""The indicator catalogue (``indicators.yaml``): loading and validation, building the typed objects the rest of cspdash
uses.

Every problem is collected and reported together, each naming the place, the value and the fix, e.g.
``indicators[B2].direction: expected increase|decrease|neutral, got 'up'``.

The typed objects and closed vocabularies live in ``catalogue`` and the field checks in ``config_checks``; this module
re-exports every public name of ``catalogue`` (the same objects), so ``from cspdash.config import Indicator`` works.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from cspdash.catalogue import (  # noqa: F401  (re-exported: cspdash, the pages and tests name them through config)
    BASELINES,
    DATASET_FORMATS,
    DEFAULT_COMPLETE_SHARE,
    DEFAULT_POLICE_FORCE,
    DEFAULT_PROVISIONAL_MONTHS,
    DEFAULT_SMALL_NUMBERS,
    DIRECTIONS,
    FREQUENCIES,
    NOT_RECORDED,
    RATINGS,
    ROLLUP_RULES,
    TARGET_TYPES,
    UNITS,
    Catalogue,
    Compare,
    Dataset,
    Indicator,
    Measure,
    Priority,
    SPCSettings,
    Subgroup,
    Target,
)
from cspdash.config_checks import (
    MIN_FIX_AFTER_N_POINTS,  # noqa: F401  (re-exported, as above)
    _choice,
    _compare,
    _ids,
    _keys,
    _measure,
    _number,
    _period,
    _Problems,
    _resolve_compare,
    _show,
    _similar,
    _spc,
    _target,
    _text,
    _unique,
)
from cspdash.errors import ConfigError
from cspdash.formats import check_measures

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,31}$")
_DATASET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


_INDICATOR_KEYS = {
    "id", "priority", "owner", "title", "definition", "unit", "frequency", "direction", "rationale", "target",
    "small_numbers", "paired_with", "measure", "source", "per", "decimals", "spc", "compare",
}
_MOVED_KEYS = {"synthetic"}  # refused with a message saying where the key went
_INDICATOR_REQUIRED = {"id", "priority", "owner", "title", "unit", "frequency", "direction", "target"}


def parse_catalogue(data: Any, source: str = "indicators.yaml") -> Catalogue:
    """Validate a parsed catalogue mapping; raise ConfigError listing every problem."""
    probs = _Problems()
    top_keys = {"partnership", "priorities", "subgroups", "indicators", "datasets", "periods"}
    if not _keys(data, "catalogue", top_keys, {"partnership", "priorities", "subgroups", "indicators"}, probs):
        raise ConfigError(probs.items, source)

    part = data.get("partnership") or {}
    name, area, rollup, marking = "", "", "worst", "OFFICIAL"
    share, force, rating, public = DEFAULT_COMPLETE_SHARE, DEFAULT_POLICE_FORCE, "target", False
    provisional = DEFAULT_PROVISIONAL_MONTHS
    similar: tuple[str, ...] = ()
    if _keys(part, "partnership", {"name", "area", "rollup", "marking", "complete_share", "police_force", "rating",
                                   "provisional_months", "similar_areas", "public"}, {"name"}, probs):
        name = _text(part, "name", "partnership", probs)
        area = _text(part, "area", "partnership", probs) or name
        rollup = _choice(part, "rollup", "partnership", ROLLUP_RULES, probs, default="worst") or "worst"
        marking = _text(part, "marking", "partnership", probs, "OFFICIAL")
        share = _number(part, "complete_share", "partnership", probs, DEFAULT_COMPLETE_SHARE, minimum=0.0)
        if share is not None and share > 1:
            probs.add("partnership.complete_share", f"expected a share between 0 and 1, got {share:g}; "
                      "write 0.5 for half the indicators")
        share = DEFAULT_COMPLETE_SHARE if share is None else share
        force = _text(part, "police_force", "partnership", probs, DEFAULT_POLICE_FORCE) or DEFAULT_POLICE_FORCE
        rating = _choice(part, "rating", "partnership", RATINGS, probs, default="target") or "target"
        provisional = part.get("provisional_months", DEFAULT_PROVISIONAL_MONTHS)
        if isinstance(provisional, bool) or not isinstance(provisional, int) or not 0 <= provisional <= 24:
            probs.add("partnership.provisional_months", f"expected a whole number of months from 0 to 24, got "
                                                        f"{provisional!r}; 0 marks no month provisional")
            provisional = DEFAULT_PROVISIONAL_MONTHS
        similar = _similar(part, probs)
        public = part.get("public", False)
        if not isinstance(public, bool):
            hint = "; remove the quotes" if str(public).strip().lower() in ("true", "false") else ""
            probs.add("partnership.public", f"expected true or false, got {public!r}{hint}")
            public = False

    first = last = None
    if data.get("periods") is not None and _keys(data["periods"], "periods", {"first", "last"}, set(), probs):
        first = _period(data["periods"], "first", probs)
        last = _period(data["periods"], "last", probs)
        if first and last and last < first:
            probs.add("periods", f"last ({last}) is before first ({first}); swap them")

    priorities: list[Priority] = []
    for n, raw in enumerate(_ids(data.get("priorities"), "priorities", probs)):
        where = f"priorities[{raw.get('id', n) if isinstance(raw, dict) else n}]"
        if _keys(raw, where, {"id", "title", "description"}, {"id", "title"}, probs):
            priorities.append(Priority(str(raw.get("id", "")), _text(raw, "title", where, probs),
                                       _text(raw, "description", where, probs)))
    _unique([p.id for p in priorities], "priorities", probs)
    pids = {p.id for p in priorities}

    subgroups: list[Subgroup] = []
    for n, raw in enumerate(_ids(data.get("subgroups"), "subgroups", probs)):
        where = f"subgroups[{raw.get('id', n) if isinstance(raw, dict) else n}]"
        if not _keys(raw, where, {"id", "name", "priority", "chair"}, {"id", "name", "priority"}, probs):
            continue
        pr = raw.get("priority")
        prs = tuple(str(p) for p in (pr if isinstance(pr, list) else [pr] if pr is not None else []))
        for p in prs:
            if p not in pids:
                probs.add(f"{where}.priority", f"no priority {p!r}; expected one of {'|'.join(sorted(pids))}")
        subgroups.append(Subgroup(str(raw.get("id", "")), _text(raw, "name", where, probs), prs,
                                  _text(raw, "chair", where, probs)))
    _unique([s.id for s in subgroups], "subgroups", probs)
    sids = {s.id for s in subgroups}

    datasets: list[Dataset] = []
    raw_ds = data.get("datasets") or {}
    if not isinstance(raw_ds, dict):
        probs.add("datasets", f"expected a mapping of name: {{format: ...}}, got {_show(raw_ds)}")
        raw_ds = {}
    for dname, raw in raw_ds.items():
        where = f"datasets[{dname}]"
        if not _DATASET_NAME.match(str(dname)):
            probs.add(where, "a dataset name is lower-case letters, digits and _ starting with a letter")
        if _keys(raw, where, {"format", "description"}, {"format"}, probs):
            fmt = _choice(raw, "format", where, DATASET_FORMATS, probs)
            if fmt:
                datasets.append(Dataset(str(dname), fmt, _text(raw, "description", where, probs)))
    dnames = {str(d) for d in raw_ds}

    indicators: list[Indicator] = []
    raw_inds = _ids(data.get("indicators"), "indicators", probs)
    all_ids = {str(r.get("id")) for r in raw_inds if isinstance(r, dict) and r.get("id") is not None}
    for n, raw in enumerate(raw_inds):
        ind = _indicator(raw, n, pids, sids, dnames, all_ids, {s.id: s for s in subgroups}, probs)
        if ind is not None:
            indicators.append(ind)
    # From the raw ids, so a duplicate is reported even when one of the pair has other problems.
    _unique([str(r["id"]) for r in raw_inds if isinstance(r, dict) and r.get("id") is not None], "indicators", probs)
    indicators = _resolve_compare(indicators, datasets, probs)

    if probs.items:
        raise ConfigError(probs.items, source)
    return Catalogue(name, area, tuple(priorities), tuple(subgroups), tuple(indicators), tuple(datasets),
                     rollup, first, last, marking, share, force, rating, provisional, similar, public)


def _indicator(raw: Any, n: int, pids: set[str], sids: set[str], dnames: set[str], all_ids: set[str],
               subgroups: dict[str, Subgroup], probs: _Problems) -> Indicator | None:
    iid = raw.get("id") if isinstance(raw, dict) else None
    where = f"indicators[{iid if iid is not None else n}]"
    if not _keys({k: v for k, v in raw.items() if k not in _MOVED_KEYS} if isinstance(raw, dict) else raw, where,
                 _INDICATOR_KEYS, _INDICATOR_REQUIRED, probs):
        return None
    iid = str(iid if iid is not None else "")
    if iid and not _ID.match(iid):
        probs.add(f"{where}.id", f"expected a short id of letters, digits, '_', '.' or '-' starting with a letter, got {iid!r}")
    priority = str(raw.get("priority", ""))
    if priority and priority not in pids:
        probs.add(f"{where}.priority", f"expected {'|'.join(sorted(pids)) or 'a declared priority'}, got {priority!r}")
    owner = str(raw.get("owner", ""))
    if owner and owner not in sids:
        probs.add(f"{where}.owner", f"no subgroup {owner!r}; expected one of {'|'.join(sorted(sids))}")
    elif priority in pids and owner and subgroups[owner].priority and priority not in subgroups[owner].priority:
        probs.add(f"{where}.owner", f"subgroup {owner!r} serves priority {'|'.join(subgroups[owner].priority)}, "
                                    f"not {priority!r}; add {priority} to its priority list or change the owner")
    unit = _choice(raw, "unit", where, UNITS, probs)
    frequency = _choice(raw, "frequency", where, FREQUENCIES, probs)
    direction = _choice(raw, "direction", where, DIRECTIONS, probs)
    target = (_target(raw.get("target"), f"{where}.target", direction, probs, frequency) if "target" in raw
              else Target())
    if target.type == "cumulative" and unit not in (None, "count"):
        probs.add(f"{where}.target.type", f"a cumulative target adds counts up over the year; unit is {unit}")
    paired = raw.get("paired_with")
    if paired is not None:
        paired = str(paired)
        if paired not in all_ids:
            probs.add(f"{where}.paired_with", f"no indicator {paired!r}; name another indicator's id")
        elif paired == iid:
            probs.add(f"{where}.paired_with", "an indicator cannot be paired with itself")
    small = _number(raw, "small_numbers", where, probs, default=DEFAULT_SMALL_NUMBERS, minimum=0.0)
    per = _number(raw, "per", where, probs, default=1000.0, minimum=1.0)
    if "per" in raw and unit != "rate":
        probs.add(f"{where}.per", f"only used by unit: rate, not {unit}; remove it")
    decimals = raw.get("decimals", 1 if unit in ("percent", "rate", "ratio") else 0)
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 4:
        probs.add(f"{where}.decimals", f"expected a whole number 0-4, got {decimals!r}")
        decimals = 0
    if "synthetic" in raw:
        probs.add(f"{where}.synthetic", "no longer a catalogue key: whether figures are synthetic is recorded on "
                                        "the upload (import --synthetic; docs/data.md); remove it")
    measure = _measure(raw.get("measure"), f"{where}.measure", dnames, probs)
    spc_settings = _spc(raw.get("spc"), f"{where}.spc", frequency, probs)
    compare = _compare(raw.get("compare"), f"{where}.compare", unit, probs)
    if None in (unit, frequency, direction) or not iid:
        return None
    return Indicator(
        id=iid, priority=priority, owner=owner, title=_text(raw, "title", where, probs), unit=unit,
        frequency=frequency, direction=direction, target=target,
        definition=_text(raw, "definition", where, probs), rationale=_text(raw, "rationale", where, probs),
        small_numbers=small if small is not None else DEFAULT_SMALL_NUMBERS, paired_with=paired, measure=measure,
        source=_text(raw, "source", where, probs), per=per or 1000.0, decimals=decimals,
        spc=spc_settings, compare=compare,
    )


def load_catalogue(path: str | Path) -> Catalogue:
    """Read and validate a catalogue file; raise ConfigError naming the file and every problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError([f"file not found; pass --config PATH or set CSPDASH_CONFIG (looked at {p})"], str(p)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([f"cannot read the file: {e}"], str(p)) from None
    return loads_catalogue(text, str(p))


def _parse_yaml(text: str) -> object:
    """YAML text as Python values, parsed by libyaml where PyYAML has it (the pure-Python parser took 0.2 s of every
    command's start); text libyaml refuses is parsed again by the pure-Python parser, whose words the messages quote."""
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return yaml.safe_load(text)


def loads_catalogue(text: str, source: str = "indicators.yaml") -> Catalogue:
    """Parse catalogue YAML text and validate it."""
    try:
        data = _parse_yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError([f"{at}not valid YAML ({getattr(e, 'problem', None) or e}); check indentation and quoting"],
                          source) from None
    cat = parse_catalogue(data, source)
    problems = check_measures(cat)
    if problems:
        raise ConfigError(problems, source)
    return cat
