"""The fake PrestaShop Webservice over HTTP: `/api/{resource}[/{id}]` with the real auth
(the key as Basic user, or `?ws_key=`), JSON or XML output, XML-only input, the error bodies
and headers of the dispatcher, plus `/_sandbox/...` to drive it from another process.

- `POST /_sandbox/faults` `{"status", "times"?, "retry_after"?, "method"?, "resource"?,
  "after_write"?}`
- `POST /_sandbox/latency` `{"seconds"}` - `POST /_sandbox/reject` `{"references": [...]}`
- `POST /_sandbox/edit` `{"resource", "id", "changes"}` (a merchant's edit in the back office)
- `POST /_sandbox/delete` `{"resource", "id"}` - `POST /_sandbox/reset`
- `GET /_sandbox/log` (every answered request, keys never logged) - `GET /_sandbox/objects/{r}`
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conveyor_commerce.prestashop import xmlio
from conveyor_commerce.sandbox.prestashop.resources import SPECS, Refused
from conveyor_commerce.sandbox.prestashop.state import ShopState

VERSION = "8.1.7"
REALM = 'Basic realm="Welcome to PrestaShop Webservice, please enter the authentication key ' \
        'as the login. No password required."'


def create_app(state: ShopState) -> Starlette:
    async def api(request: Request) -> Response:
        started = time.perf_counter()
        resource = request.path_params.get("resource", "")
        raw_item = request.path_params.get("item")
        item = int(raw_item) if raw_item is not None and raw_item.isdigit() else None
        as_json = _wants_json(request)
        fields: dict[str, Any] = {}
        if state.latency:
            await asyncio.sleep(state.latency)
        try:
            _authorize(state, request)
            if resource not in SPECS:
                raise Refused(404, 20, f"Resource of type \"{resource}\" not found")
            if raw_item is not None and item is None:
                raise Refused(400, 87, f"Id(s) not exists: {raw_item}")
            fault = state.fault_for(request.method, resource)
            if fault is not None and not fault.after_write:
                raise _faulted(fault.status, fault.retry_after)
            status, body = await _serve(state, request, resource, item, fields)
            if fault is not None:  # the write happened; the answer is lost (a proxy's 502)
                raise _faulted(fault.status, fault.retry_after)
        except Refused as refused:
            state.record(request.method, resource, item, refused.status, fields)
            return _error(refused, as_json, started)
        state.record(request.method, resource, body.get("id") if isinstance(body, dict)
                     else item, status, fields)
        return _answer(status, resource, body, as_json, started)

    routes = [Route("/api/{resource}", api, methods=["GET", "POST", "HEAD"]),
              Route("/api/{resource}/{item}", api, methods=["GET", "PUT", "HEAD"]),
              *_control(state)]
    return Starlette(routes=routes)


async def _serve(state: ShopState, request: Request, resource: str, item: int | None,
                 fields: dict[str, Any]) -> tuple[int, Any]:
    """(status, the object or list) of one Webservice call; fills `fields` with the body."""
    if request.method in ("POST", "PUT"):
        try:
            fields.update(xmlio.loads(await request.body(), resource))
        except xmlio.XmlError as exc:
            raise Refused(500, 127, f"XML error : {exc}") from None
        if request.method == "POST":
            return 201, state.create(resource, fields)
        assert item is not None
        return 200, state.replace(resource, item, fields)
    if item is not None:
        return 200, state.get(resource, item)
    return 200, _listing(state, request, resource)


def _listing(state: ShopState, request: Request, resource: str) -> list[dict[str, Any]]:
    filters = {key[7:-1]: value for key, value in request.query_params.items()
               if key.startswith("filter[") and key.endswith("]")}
    wanted = {name: _choices(value) for name, value in filters.items()}
    with state.lock:  # compare in place, copy only what matches (catalogues are large)
        found = [dict(o) for o in state.objects[resource].values()
                 if all(_text(o.get(name, "")).lower() in choices
                        for name, choices in wanted.items())]
    display = request.query_params.get("display", "")
    if display == "full":
        return found
    if display.startswith("[") and display.endswith("]"):
        names = [name.strip() for name in display[1:-1].split(",") if name.strip()]
        return [{name: obj.get(name, "") for name in names} for obj in found]
    return [{"id": obj["id"]} for obj in found]


def _choices(pattern: str) -> set[str]:
    """The literal and OR forms of the filter grammar, `[x]` and `[a|b]`, as the lower-case
    values that match (filters are case-insensitive)."""
    if not (pattern.startswith("[") and pattern.endswith("]")):
        raise Refused(400, 33, f"The \"filter\" value {pattern!r} is malformed")
    return {choice.lower() for choice in pattern[1:-1].split("|")}


def _text(value: Any) -> str:
    """A field as filters compare it: a multilingual field by its first language's text."""
    if isinstance(value, list):
        return str(value[0].get("value", "")) if value and isinstance(value[0], dict) else ""
    return str(value)


def _authorize(state: ShopState, request: Request) -> None:
    key = request.query_params.get("ws_key", "")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            key = base64.b64decode(header[6:].strip(), validate=True).decode().split(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    if not key:
        raise Refused(401, 17, "Authentication key is empty", {"WWW-Authenticate": REALM})
    if len(key) != 32:
        raise Refused(401, 18, "Invalid authentication key format")
    if key not in state.keys:
        raise Refused(401, 19, "Authentication key is not active",
                      {"WWW-Authenticate": REALM})


def _faulted(status: int, retry_after: float) -> Refused:
    if status == 429:
        return Refused(429, 0, "Too Many Requests", {"Retry-After": f"{retry_after:g}"})
    return Refused(status, 46 if status == 500 else 0,
                   "Internal error" if status == 500 else "Service Unavailable")


def _wants_json(request: Request) -> bool:
    params, headers = request.query_params, request.headers
    return "JSON" in (params.get("output_format", "").upper(), params.get("io_format", "")
                      .upper(), headers.get("output-format", "").upper(),
                      headers.get("io-format", "").upper())


def _headers(started: float) -> dict[str, str]:
    return {"PSWS-Version": VERSION, "X-Powered-By": "PrestaShop Webservice",
            "Execution-Time": f"{time.perf_counter() - started:.3f}"}


def _answer(status: int, resource: str, body: Any, as_json: bool, started: float) -> Response:
    if as_json:
        if isinstance(body, list):
            data: Any = {resource: body} if body else []  # 1.7's empty list is a bare []
        else:
            data = {xmlio.singular(resource): body}
        return Response(orjson.dumps(data), status, _headers(started), "application/json")
    if isinstance(body, list):
        text = b"".join(xmlio.dumps(resource, {"id": obj["id"]}) for obj in body)
        return Response(text, status, _headers(started), "text/xml")
    return Response(xmlio.dumps(resource, body), status, _headers(started), "text/xml")


def _error(refused: Refused, as_json: bool, started: float) -> Response:
    headers = {**_headers(started), **refused.headers}
    if as_json:
        body = orjson.dumps({"errors": [{"code": refused.code, "message": refused.message}]})
        return Response(body, refused.status, headers, "application/json")
    return Response(xmlio.error_body(refused.code, refused.message), refused.status, headers,
                    "text/xml")


def _control(state: ShopState) -> list[Route]:
    Handler = Callable[[dict[str, Any]], None]

    def post(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                data = await request.json()
                handler(data if isinstance(data, dict) else {})
            except (ValueError, KeyError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse({"ok": True})
        return endpoint

    async def log(_: Request) -> Response:
        return JSONResponse([dataclasses.asdict(entry) for entry in state.log()])

    async def objects(request: Request) -> Response:
        resource = request.path_params["resource"]
        with state.lock:
            found = list(state.objects.get(resource, {}).values())
        return JSONResponse(found)

    def latency(data: dict[str, Any]) -> None:
        state.latency = max(0.0, float(data["seconds"]))

    handlers: dict[str, Handler] = {
        "faults": lambda d: state.inject(int(d["status"]), int(d.get("times", 1)),
                                         retry_after=float(d.get("retry_after", 1.0)),
                                         method=d.get("method"), resource=d.get("resource"),
                                         after_write=bool(d.get("after_write", False))),
        "latency": latency,
        "reject": lambda d: state.reject(str(r) for r in d["references"]),
        "edit": lambda d: state.edit(str(d["resource"]), int(d["id"]), dict(d["changes"])),
        "delete": lambda d: state.delete(str(d["resource"]), int(d["id"])),
        "reset": lambda d: state.reset(),
    }
    return [*(Route(f"/_sandbox/{name}", post(handler), methods=["POST"])
              for name, handler in handlers.items()),
            Route("/_sandbox/log", log, methods=["GET"]),
            Route("/_sandbox/objects/{resource}", objects, methods=["GET"])]
