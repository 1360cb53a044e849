"""A FastAPI service that enqueues Conveyor jobs from its handlers (see README.md here)."""
