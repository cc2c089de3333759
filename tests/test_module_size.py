"""No module of cspdash over 500 lines (issue 15), except where the README's Layout section says why.

A module that grows past the limit is split by noun, as config, status, cli and spc were (their old names re-export
every public name, so imports keep working); an exemption needs its reason in README.md's Layout section.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "cspdash").glob("*.py"))
MAX_LINES = 500

#: Modules allowed over the limit, each with the words of README.md's Layout section that say why.
EXEMPT = {"ui.py": "ui (the one module that imports streamlit; kept whole"}


def lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("path", [p for p in LIBRARY if p.name not in EXEMPT],
                         ids=lambda p: p.name)
def test_every_module_is_at_most_500_lines(path):
    n = lines(path)
    assert n <= MAX_LINES, (f"cspdash/{path.name} has {n} lines (at most {MAX_LINES}): split it by noun into modules "
                            "and re-export the public names from the old one, or say in README.md's Layout why not")


@pytest.mark.parametrize("name", sorted(EXEMPT))
def test_each_exemption_is_explained_in_the_readme_layout(name):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    assert EXEMPT[name] in " ".join(layout.split()), f"README.md's Layout section does not say why {name} is long"
    assert (ROOT / "cspdash" / name).exists(), f"{name} is exempt but no longer exists: drop it from EXEMPT"


def test_the_line_count_counts_lines(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("a = 1\n\nb = 2\n", encoding="utf-8")
    assert lines(sample) == 3
