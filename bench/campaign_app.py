"""The application the campaign benchmark's workers load: the commerce kit on
`$CONVEYOR_URL` with no minimum lead."""

from __future__ import annotations

import os

from bench.campaign import SETTINGS
from conveyor import Conveyor
from conveyor_commerce import Commerce

app = Conveyor(os.environ.get("CONVEYOR_URL"))
commerce = Commerce(app, settings=SETTINGS)
