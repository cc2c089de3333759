"""Priority C: each indicator's status, history chart (with a table view), texts, commentary and comparison."""

from cspdash import ui

ui.priority_page("C")
