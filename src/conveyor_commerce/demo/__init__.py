"""The one-command demo of Conveyor with the commerce kit (`scripts/demo`).

`run(spec)` starts, in this order: the sandbox servers (a fake WhatsApp Cloud API, ...), the
kit's delivery-status webhook, the sample data (`sample`), the dashboard, then the worker
processes (`conveyor worker --processes N`, whose leader also fires the cron schedules), and
keeps them all running until SIGINT or SIGTERM stops everything in reverse order (`stack`).

Everything runs on the application's own database: SQLite by default, PostgreSQL when
`$CONVEYOR_URL` says so. Starting again on the same database sets up the same accounts
(updated in place) and adds a new round of sample messages and jobs.
"""

from conveyor_commerce.demo.run import DemoSpec, run

__all__ = ["DemoSpec", "run"]
