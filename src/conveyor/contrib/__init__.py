"""Integrations with the frameworks a Python team already runs: `starlette` (FastAPI too) and
`django`. Each imports its framework, so importing `conveyor` never requires one."""
