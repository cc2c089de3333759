"""Shared pytest set-up: make the project root importable when pytest is run as ``.venv/bin/pytest``."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
