"""The Campaigns page: the list with progress bars, one campaign with its recipients'
outcomes (filters in the query string) and pause/resume/cancel, and a new campaign from a
CSV upload - previewed (valid, invalid, duplicates, opted out) before it is created.

The upload is kept in a private temporary file between the preview and the start, named by
a random token the preview page carries; it is read as a stream both times and deleted once
the campaign is created. Every kit call runs in a worker thread (`plugin.call`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor.web import Page, redirect, render
from conveyor_commerce.campaigns.model import Campaign, CampaignStatus, RecipientStatus
from conveyor_commerce.errors import CampaignNotFound, CommerceError
from conveyor_commerce.kit import Commerce
from conveyor_commerce.web import plugin
from conveyor_commerce.web.message_views import problem
from conveyor_commerce.whatsapp.payloads import Content, Template, Text

TEMPLATES = Path(__file__).parent / "templates" / "campaigns"
PAGE_SIZES = (50, 100, 500)
VERBS = ("pause", "resume", "cancel")
BADGES = {"draft": "scheduled", "running": "running", "paused": "scheduled",
          "cancelling": "running", "cancelled": "cancelled", "completed": "completed",
          "failed": "discarded", "pending": "scheduled", "processing": "running",
          "sent": "completed", "skipped": "cancelled"}
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{20,64}$")
UPLOADS = Path(tempfile.gettempdir()) / "conveyor-campaign-uploads"


def page() -> Page:
    return Page(
        slug="campaigns", label="Campaigns", templates=TEMPLATES,
        routes=[Route("/", listing, methods=["GET"]),
                Route("/new", new, methods=["GET"]),
                Route("/preview", preview, methods=["POST"]),
                Route("/start", start, methods=["POST"]),
                Route("/{campaign_id:int}", show, methods=["GET"]),
                *(Route(f"/{{campaign_id:int}}/{verb}", act, methods=["POST"])
                  for verb in VERBS)])


def _common(kit: Commerce) -> dict[str, Any]:
    accounts = kit.accounts.list()
    return {"accounts": accounts, "account_names": {a.id: a.name for a in accounts},
            "badges": BADGES, "now": kit.now()}


async def listing(request: Request) -> Response:
    def read(kit: Commerce) -> dict[str, Any]:
        found = kit.campaigns.list(limit=100)
        now = kit.now()
        return {**_common(kit), "rows": [(c, c.progress(now)) for c in found]}

    return render(request, "campaigns/list.html", await plugin.call(request, read))


@dataclasses.dataclass(frozen=True, slots=True)
class RecipientQuery:
    statuses: tuple[str, ...] = ()
    phone: str = ""
    code: int | None = None
    after: int | None = None
    limit: int = 50
    errors: tuple[str, ...] = ()

    @classmethod
    def parse(cls, params: Any) -> RecipientQuery:
        errors = []
        statuses = tuple(s for s in params.getlist("status") if s)
        known = {s.value for s in RecipientStatus}
        if any(s not in known for s in statuses):
            errors.append(f"status: one of {', '.join(sorted(known))}")
            statuses = tuple(s for s in statuses if s in known)
        code, after, limit = params.get("code", ""), params.get("after", ""), \
            params.get("limit", "50")
        if code and not code.isdigit():
            errors.append("error code: digits, e.g. 131026")
        if after and not after.isdigit():
            errors.append("after: a recipient id")
        size = int(limit) if limit.isdigit() and int(limit) in PAGE_SIZES else 50
        phone = re.sub(r"[^0-9]", "", params.get("phone", ""))[:20]
        return cls(statuses, phone, int(code) if code.isdigit() else None,
                   int(after) if after.isdigit() else None, size, tuple(errors))

    def params(self, **changes: Any) -> dict[str, Any]:
        values = {"status": list(self.statuses), "phone": self.phone,
                  "code": "" if self.code is None else self.code, "limit": self.limit}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", [], None)}


async def show(request: Request) -> Response:
    campaign_id: int = request.path_params["campaign_id"]
    query = RecipientQuery.parse(request.query_params)

    def read(kit: Commerce) -> dict[str, Any] | None:
        try:
            campaign = kit.campaigns.get(campaign_id)
        except CampaignNotFound:
            return None
        rows = kit.campaigns.recipients(campaign_id, statuses=query.statuses,
                                        phone=query.phone or None, error_code=query.code,
                                        after_id=query.after, limit=query.limit + 1)
        return {**_common(kit), "campaign": campaign, "progress": campaign.progress(kit.now()),
                "recipients": rows[:query.limit],
                "next_after": rows[query.limit - 1].id if len(rows) > query.limit else None}

    found = await plugin.call(request, read)
    if found is None:
        return problem(request, "No such campaign", f"There is no campaign {campaign_id}.", 404)
    return render(request, "campaigns/show.html", {
        **found, "query": query, "statuses": [s.value for s in RecipientStatus],
        "page_sizes": PAGE_SIZES, "verbs": _verbs(found["campaign"])})


def _verbs(campaign: Campaign) -> list[str]:
    return {CampaignStatus.RUNNING: ["pause", "cancel"],
            CampaignStatus.PAUSED: ["resume", "cancel"],
            CampaignStatus.DRAFT: ["cancel"]}.get(campaign.status, [])


async def act(request: Request) -> Response:
    campaign_id: int = request.path_params["campaign_id"]
    verb = request.url.path.rstrip("/").rsplit("/", 1)[-1]

    def work(kit: Commerce) -> str | None:
        try:
            getattr(kit.campaigns, verb)(campaign_id)
        except CommerceError as exc:
            return str(exc)
        return None

    refused = await plugin.call(request, work)
    if refused is not None:
        return problem(request, f"Could not {verb} campaign {campaign_id}", refused)
    return redirect(request, f"/campaigns/{campaign_id}",
                    notice=f"Campaign {campaign_id}: {verb} done.")


# -- new campaign: upload, preview, start ----------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Draft:
    name: str = ""
    account: str = ""
    kind: str = "template"
    text: str = ""
    template: str = ""
    language: str = "en_US"
    params: str = ""
    """Template body parameters, one per line."""

    @classmethod
    def from_form(cls, form: Any) -> Draft:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: str(form.get(k, "")).strip() if k != "text" else str(form.get(k, ""))
                      for k in fields if isinstance(form.get(k, ""), str)})

    def content(self) -> Content:
        if self.kind == "text":
            return Text(self.text)
        body = tuple(line.strip() for line in self.params.splitlines() if line.strip())
        return Template(self.template, self.language or "en_US", body=body)


async def new(request: Request) -> Response:
    known = await plugin.call(request, _common)
    return render(request, "campaigns/new.html", {**known, "draft": Draft(), "problem": ""})


async def preview(request: Request) -> Response:
    async with request.form(max_files=1) as form:
        draft = Draft.from_form(form)
        upload = form.get("recipients")
        token = await _keep(upload) if isinstance(upload, UploadFile) else None
    if token is None:
        known = await plugin.call(request, _common)
        return render(request, "campaigns/new.html", {
            **known, "draft": draft, "problem": "Choose a CSV file of recipients."}, 400)

    def work(kit: Commerce) -> dict[str, Any]:
        try:
            found = kit.campaigns.preview(_upload_path(token))
        except CommerceError as exc:
            _drop(token)
            return {**_common(kit), "draft": draft, "problem": str(exc)}
        return {**_common(kit), "draft": draft, "found": found, "token": token}

    result = await plugin.call(request, work)
    if "found" not in result:
        return render(request, "campaigns/new.html", result, 400)
    return render(request, "campaigns/preview.html", result)


async def start(request: Request) -> Response:
    async with request.form() as form:
        draft = Draft.from_form(form)
        token = str(form.get("token", ""))
    if not _TOKEN.match(token) or not _upload_path(token).is_file():
        return problem(request, "The upload is gone", "Upload the CSV file again: the "
                       "preview expired or was already used.")

    def work(kit: Commerce) -> Campaign | str:
        account = int(draft.account) if draft.account.isdigit() else draft.account
        try:
            return kit.campaigns.create(draft.name, account, draft.content(),
                                        _upload_path(token))
        except CommerceError as exc:
            return str(exc)
        finally:
            _drop(token)

    made = await plugin.call(request, work)
    if isinstance(made, str):
        return problem(request, "The campaign was not created", made)
    return redirect(request, f"/campaigns/{made.id}",
                    notice=f"Campaign {made.id} started: {made.pending} recipients to send.")


async def _keep(upload: UploadFile) -> str:
    """Copy the upload to a private file, in blocks; returns its token."""
    UPLOADS.mkdir(mode=0o700, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(_upload_path(token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while block := await upload.read(64 * 1024):
            out.write(block)
    return token


def _upload_path(token: str) -> Path:
    if not _TOKEN.match(token):
        raise ValueError("bad upload token")
    return UPLOADS / token


def _drop(token: str) -> None:
    _upload_path(token).unlink(missing_ok=True)
