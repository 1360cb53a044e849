"""The API reference documents exactly the public API: every name `conveyor` exports, and no
`conveyor.X` that it does not export (the modules behind it are internal)."""

from __future__ import annotations

import re
from pathlib import Path

import conveyor

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"
_ENTRY = re.compile(r"^::: conveyor\.(\w+)\s*$", re.MULTILINE)
MODULES = {"contrib", "hooks", "joblog", "testing"}
"""Optional modules documented on the integrations page, imported on their own."""


def test_every_exported_name_is_documented_once_and_nothing_else() -> None:
    documented = [name for page in sorted(REFERENCE.glob("*.md"))
                  for name in _ENTRY.findall(page.read_text())]
    exported = set(conveyor.__all__) - {"__version__"}
    assert sorted(set(documented) - MODULES) == sorted(exported)
    assert len(documented) == len(set(documented))
    for name in exported:
        assert getattr(conveyor, name).__module__.startswith("conveyor."), name
