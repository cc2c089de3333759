"""``python -m cspdash``: the command-line interface."""

import sys

from cspdash.cli import main

sys.exit(main())
