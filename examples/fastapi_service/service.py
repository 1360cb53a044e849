"""The FastAPI service: sign-ups enqueue jobs; staff see the Conveyor dashboard at /admin/jobs.

    uvicorn examples.fastapi_service.service:service        # jobs run by `conveyor worker`
    SERVICE_RUNS_JOBS=1 uvicorn examples.fastapi_service.service:service   # or in here

Staff log in with the service's own login (`POST /login`, password `$SERVICE_ADMIN_PASSWORD`);
the dashboard trusts that session instead of asking again.
"""

from __future__ import annotations

import hmac
import os
import secrets
from typing import Any

from fastapi import FastAPI, Form, HTTPException, Request
from pydantic import BaseModel
from starlette.middleware.sessions import SessionMiddleware

from conveyor import JobNotFound, web
from conveyor.contrib import starlette as conveyor_starlette
from examples.fastapi_service import jobs


class SignUp(BaseModel):
    email: str


def staff(request: Request) -> web.User | None:
    """The dashboard's auth: whoever the service's session says is logged in."""
    name = request.session.get("staff")
    return web.User(name, web.Role.ADMIN) if isinstance(name, str) else None


def create_service(*, run_jobs: bool = False, grace: float = 30.0) -> FastAPI:
    service = FastAPI(lifespan=conveyor_starlette.lifespan(jobs.app, worker=run_jobs,
                                                           grace=grace))
    service.add_middleware(SessionMiddleware, https_only=False, secret_key=os.environ.get(
        "SERVICE_SECRET", secrets.token_urlsafe(32)))
    conveyor_starlette.mount_dashboard(service, jobs.app, path="/admin/jobs", auth=staff)

    @service.post("/signup")
    async def signup(body: SignUp) -> dict[str, int]:
        welcome = await jobs.send_welcome.aenqueue(body.email)
        await jobs.follow_up.options(delay=86_400).aenqueue(body.email, days=1)
        return {"job_id": welcome.id}

    @service.post("/reports")
    async def report(seconds: float = 1.0) -> dict[str, int]:
        return {"job_id": (await jobs.build_report.aenqueue(seconds)).id}

    @service.get("/jobs/{job_id}")
    async def job_state(job_id: int) -> dict[str, Any]:
        try:
            job = await jobs.app.aget(job_id)
        except JobNotFound:
            raise HTTPException(404, f"no job {job_id}") from None
        return {"id": job.id, "state": job.state.value, "result": job.result}

    @service.post("/login")
    async def login(request: Request, user: str = Form(), password: str = Form()) -> dict[str, str]:
        expected = os.environ.get("SERVICE_ADMIN_PASSWORD", "")
        if not expected or not hmac.compare_digest(password.encode(), expected.encode()):
            raise HTTPException(401, "wrong user or password")
        request.session["staff"] = user
        return {"staff": user}

    return service


service = create_service(run_jobs=os.environ.get("SERVICE_RUNS_JOBS") == "1",
                         grace=float(os.environ.get("SERVICE_GRACE", "30")))
