"""The one-command demo of Conveyor with the commerce kit (`scripts/demo`).

`run(spec)` starts, in this order: the dashboard, the sandbox servers (a fake WhatsApp Cloud
API, ...) and the kit's delivery-status webhook, each system's sample data (`whatsapp`, ...),
then the worker processes (`conveyor worker --processes N`, whose leader also fires the cron
schedules, `workers`), and keeps them running with a status line (`progress`) until SIGINT or
SIGTERM: the workers stop first (finishing their running jobs), then the servers (`run`).

Everything runs on the application's own database: SQLite by default, PostgreSQL when
`$CONVEYOR_URL` says so. Starting again on the same database sets up the same accounts
(updated in place) and adds a new round of sample messages and jobs.
"""

from conveyor_commerce.demo.run import DemoSpec, run

__all__ = ["DemoSpec", "run"]
