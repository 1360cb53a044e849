"""The application the catalog benchmark's workers load: the commerce kit on `$CONVEYOR_URL`
with `$CATALOG_BENCH_CONCURRENCY` syncs in flight per shop and no crons."""

from __future__ import annotations

import os

from conveyor import Conveyor
from conveyor_commerce import Commerce
from conveyor_commerce.catalog.model import CatalogSettings

SETTINGS = CatalogSettings(shop_concurrency=int(os.environ.get("CATALOG_BENCH_CONCURRENCY", "4")),
                           nightly_cron=None, retry_cron=None, http_timeout=10.0)

app = Conveyor(os.environ.get("CONVEYOR_URL"))
commerce = Commerce(app, catalog=SETTINGS)
