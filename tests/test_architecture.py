"""The shape of cspdash's import graph, read from the source with ``ast`` (nothing is imported).

Layers, lowest first; a module may import from its own layer or any lower one, never from a higher one:

0. ``errors``, ``periods``, ``formats``, ``quantiles``, ``auth``, ``demo_data``: words, periods, formats, maths, passwords
1. ``config``, ``catalogue``, ``config_checks``: the indicator catalogue (loading, its typed objects, its field checks)
2. ``ingest``, ``datasets``: reading returns and extracts
3. ``status``, ``observations``, ``judgement``, ``status_text``, ``spc``, ``spc_rules``, ``spc_phases``, ``compare``,
   ``templates``: judgements and templates of returns
4. ``store``, ``extract_store``, ``pg_import``: the database (and the modules it is split into), the Parquet extracts of a
   PostgreSQL store and their import
5. ``views``, ``charts``, ``report``, ``snapshots``, ``backups``, ``backups_pg``, ``demo``: screens' data, charts, packs, copies
6. ``ui``: the only module that imports streamlit
7. ``cli``, ``cli_common``, ``cli_data``, ``cli_report``, ``cli_admin``, ``__main__``: the command line

The order is declared only for these modules. A new module (the store split into db/figures/uploads/..., the report
split) needs no entry: it is allowed wherever it fits, as long as (a) the graph stays acyclic, counting imports inside
functions too, and (b) no path through new modules leads from a declared module up to a higher layer.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cspdash"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "periods", "formats", "quantiles", "auth", "demo_data"),
    ("config", "catalogue", "config_checks"),
    ("ingest", "datasets"),
    ("status", "observations", "judgement", "status_text", "spc", "spc_rules", "spc_phases", "compare", "templates"),
    ("store", "extract_store", "pg_import"),
    ("views", "charts", "report", "snapshots", "backups", "backups_pg", "demo"),
    ("ui",),
    ("cli", "cli_common", "cli_data", "cli_report", "cli_admin", "__main__"),
)
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}

#: Imports against the layers that exist today, each inside a function and with its reason. An entry that no longer
#: exists is harmless; a new one needs a reason here (or, better, the shared piece moved down a layer).
ALLOWED_UPWARD = {
    ("store", "backups"): "Store's newest-backup lookup imports backups inside the function (backups builds on store)",
    ("store", "backups_pg"): "Store.backup of a PostgreSQL store imports backups_pg inside the function",
}

#: What a page (and dashboard.py) may import besides the standard library.
PAGE_IMPORTS = ("streamlit", "cspdash")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(tree: ast.AST, module_level_only: bool) -> list[tuple[str, tuple[str, ...]]]:
    """``(module, names)`` of every import statement executed at run time: ``if TYPE_CHECKING:`` blocks are skipped;
    imports inside functions are included unless ``module_level_only``."""
    found: list[tuple[str, tuple[str, ...]]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    visit_one(other)
                continue
            visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if module_level_only and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return
        if isinstance(node, ast.Import):
            found.extend((a.name, ()) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, tuple(a.name for a in node.names)))
        visit(node)

    visit(tree)
    return found


def modules() -> dict[str, ast.Module]:
    return {f.stem: ast.parse(f.read_text(encoding="utf-8"), str(f)) for f in sorted(PACKAGE.glob("*.py"))}


def cspdash_targets(module: str, names: tuple[str, ...], known: set[str]) -> set[str]:
    """The cspdash modules an import reaches: ``cspdash.x``, ``cspdash.x.y`` and ``from cspdash import x``."""
    parts = module.split(".")
    if parts[0] != "cspdash":
        return set()
    if len(parts) > 1:
        return {parts[1]} & known
    return set(names) & known


def graph(module_level_only: bool) -> dict[str, set[str]]:
    trees = modules()
    known = set(trees)
    return {name: {t for mod, names in imports(tree, module_level_only) for t in cspdash_targets(mod, names, known)}
            - {name} for name, tree in trees.items()}


def cycle(g: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``g`` as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for m in sorted(g.get(n, ())):
            if state.get(m) == 1:
                return [*path[path.index(m):], m]
            if m not in state:
                found = walk(m)
                if found:
                    return found
        path.pop()
        state[n] = 2
        return None

    for n in sorted(g):
        if n not in state:
            found = walk(n)
            if found:
                return found
    return None


def without_allowed(g: dict[str, set[str]]) -> dict[str, set[str]]:
    return {a: {b for b in bs if (a, b) not in ALLOWED_UPWARD} for a, bs in g.items()}


@pytest.mark.parametrize(("g", "expected"), [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": {"a"}}, ["a", "a"]),
    ({"a": set(), "b": {"c"}, "c": {"b"}}, ["b", "c", "b"]),
])
def test_cycle_finds_a_cycle(g, expected):
    assert cycle(g) == expected


@pytest.mark.parametrize(("source", "module_level_only", "expected"), [
    ("import cspdash.config\nfrom cspdash import ui, views", True, [("cspdash.config", ()), ("cspdash", ("ui", "views"))]),
    ("def f():\n    from cspdash import store\n", True, []),
    ("def f():\n    from cspdash import store\n", False, [("cspdash", ("store",))]),
    ("if TYPE_CHECKING:\n    from cspdash.config import Catalogue\nelse:\n    import json\n", False, [("json", ())]),
    ("class A:\n    import re\n", True, [("re", ())]),
    ("from . import x\n", False, []),
])
def test_imports_reads_what_runs(source, module_level_only, expected):
    assert imports(ast.parse(source), module_level_only) == expected


def test_the_module_level_import_graph_is_acyclic():
    found = cycle(graph(module_level_only=True))
    assert found is None, f"import cycle at module level: {' -> '.join(found)}; move the shared piece down a layer"


def test_the_whole_import_graph_is_acyclic_counting_imports_inside_functions():
    found = cycle(without_allowed(graph(module_level_only=False)))
    assert found is None, (f"import cycle (counting imports inside functions): {' -> '.join(found)}; move the shared "
                           "piece down a layer")


def test_no_import_reaches_a_higher_layer_even_through_new_modules():
    g = without_allowed(graph(module_level_only=False))
    wrong = []
    for a in sorted(set(g) & set(RANK)):
        seen, todo = set(), [(a, b) for b in g[a]]
        while todo:
            via, b = todo.pop()
            if b in seen:
                continue
            seen.add(b)
            if b in RANK:
                if RANK[b] > RANK[a]:
                    wrong.append(f"{a} (layer {RANK[a]}) -> {b} (layer {RANK[b]})" + (f" via {via}" if via != a else ""))
            else:  # a new module: look through it
                todo.extend((b, c) for c in g.get(b, ()))
    assert not wrong, "imports against the layers of tests/test_architecture.py: " + "; ".join(wrong)


def test_only_ui_imports_streamlit():
    users = sorted(name for name, tree in modules().items() if name != "ui"
                   and any(mod.split(".")[0] == "streamlit" for mod, _ in imports(tree, module_level_only=False)))
    assert not users, f"{users} import streamlit; only cspdash/ui.py may (put the screen code there)"


def app_scripts() -> list[Path]:
    return [ROOT / "dashboard.py", *sorted((ROOT / "pages").glob("*.py"))]


@pytest.mark.parametrize("script", app_scripts(), ids=lambda p: p.name)
def test_pages_import_only_streamlit_and_public_cspdash(script):
    tree = ast.parse(script.read_text(encoding="utf-8"))
    known = set(modules())
    wrong = []
    for mod, names in imports(tree, module_level_only=False):
        top = mod.split(".")[0]
        if top not in PAGE_IMPORTS and top not in sys.stdlib_module_names:
            wrong.append(f"{mod} (a page reads widgets, calls cspdash and renders: the work belongs in cspdash)")
        elif top == "cspdash":
            reached = cspdash_targets(mod, names, known) or set(names)
            wrong += [f"{mod}: {n} is private" for n in (*mod.split(".")[1:], *names) if n.startswith("_")]
            assert reached, f"{mod} {names}"
    aliases = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               and node.module == "cspdash" for a in node.names}
    wrong += [f"{node.value.id}.{node.attr} is private" for node in ast.walk(tree)
              if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
              and node.attr.startswith("_")]
    assert not wrong, f"{script.name}: " + "; ".join(wrong)
