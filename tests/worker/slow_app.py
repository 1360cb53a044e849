"""An application whose import takes a while, as a large one does: signals may come meanwhile."""

from __future__ import annotations

import os
import time
from pathlib import Path

from conveyor import Conveyor

Path(os.environ["SLOW_APP_MARKER"]).write_text("importing")
time.sleep(1.5)
app = Conveyor(os.environ.get("CONVEYOR_URL"))


@app.job()
def noop() -> None:
    """Never runs: the worker is stopped before it starts."""
