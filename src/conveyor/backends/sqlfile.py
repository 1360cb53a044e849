"""Named SQL statements kept in `.sql` files beside each backend.

A file holds blocks that start with `-- name: <name>`; everything up to the next such line is
that statement. A statement may include another block by writing `{{name}}` (used for the one
job filter shared by listing, counting and operator actions), and a driver may add fragments
at run time where a statement says `/*drive*/` (`compose`). Keeping SQL out of Python makes
each statement readable and reviewable whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)
_INCLUDE = re.compile(r"\{\{(\w+)\}\}")


def parse(text: str) -> dict[str, str]:
    parts = _NAME.split(text)
    statements: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in statements:
            raise ValueError(f"SQL statement {name!r} is defined twice")
        statements[name] = body.strip().rstrip(";")
    return {name: _expand(text, statements) for name, text in statements.items()}


def _expand(text: str, blocks: dict[str, str]) -> str:
    def include(match: re.Match[str]) -> str:
        if match[1] not in blocks:
            raise ValueError(f"SQL include {{{{{match[1]}}}}} names no statement")
        return blocks[match[1]]

    return _INCLUDE.sub(include, text)


def compose(statements: Mapping[str, str], name: str, fragments: Sequence[str]) -> str:
    """Statement `name` with the named `fragments` put where it says `/*drive*/` (a choice the
    driver makes per call among fixed fragments; nothing from input is ever spliced in)."""
    return statements[name].replace("/*drive*/", " ".join(statements[f] for f in fragments))


def load(package: str, filename: str = "queries.sql") -> dict[str, str]:
    return parse(resources.files(package).joinpath(filename).read_text())
