"""The application real worker processes load in the commerce tests: the kit on
`$CONVEYOR_URL`, with short timings (heartbeat 0.5 s, lease 3 s, backoff 0.5/1/2 s, no
minimum lead, no ambiguous grace: a send lost with its worker is resent at once)."""

from __future__ import annotations

import os

from conveyor import Conveyor, Settings
from conveyor_commerce import Commerce, CommerceSettings

SETTINGS = Settings(heartbeat_interval=0.5, lease_timeout=3.0, rescue_interval=0.5,
                    stage_interval=0.1)
KIT_SETTINGS = CommerceSettings(min_lead=0, backoff=(0.5, 1.0, 2.0), ambiguous_grace=0.0,
                                http_timeout=5.0, stopped_recheck=1.0, quiet_hours=None,
                                cart_abandon_after=1.0, cart_max_age=3600.0)
APP = "tests.commerce.commerce_app:app"

app = Conveyor(os.environ.get("CONVEYOR_URL"), settings=SETTINGS)
commerce = Commerce(app, settings=KIT_SETTINGS)


def test_side(url: str) -> Commerce:
    """The same kit on the test's side (its own app object, same database and settings)."""
    return Commerce(Conveyor(url, settings=SETTINGS), settings=KIT_SETTINGS)
