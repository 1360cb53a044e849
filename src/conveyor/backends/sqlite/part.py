"""Base of `SqliteBackend`'s mixins: what they use of the backend, declared once."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

T = TypeVar("T")


class BackendPart:
    """Declares the backend methods the mixins (`batches`...) call."""

    if TYPE_CHECKING:
        async def _run(self, work: Callable[[sqlite3.Connection], T], *, write: bool) -> T: ...

        def _notify(self) -> None: ...
