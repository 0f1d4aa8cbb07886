"""Run an ASGI application (FastAPI, Starlette, a plain ASGI callable) as a worker's
fetch handler: `return await asgi.fetch(app, request, self.env)`.

One HTTP request per call: the lifespan startup runs once per application, the
request body is handed over in one `http.request` message, and the response is
assembled from `http.response.start` and every `http.response.body` message.
"""

import asyncio
import logging
from typing import Any

import js
from workers import Request, Response

ASGI = {"spec_version": "2.0", "version": "3.0"}
logger = logging.getLogger("asgi")
_started = {}
background_tasks = set()


def run_in_background(coro) -> None:
    fut = asyncio.ensure_future(coro)
    background_tasks.add(fut)
    fut.add_done_callback(background_tasks.discard)


def request_to_scope(req, env, ws=False):
    if isinstance(req, Request):
        pairs = list(req.headers.items())
    else:
        pairs = [(k, v) for k, v in req.headers]
    url = js.URL.new(req.url)
    method = req.method
    method = getattr(method, "value", method)
    return {
        "type": "websocket" if ws else "http",
        "asgi": ASGI,
        "http_version": "1.1",
        "method": str(method),
        "scheme": url.protocol[:-1],
        "path": url.pathname,
        "raw_path": url.pathname.encode(),
        "query_string": url.search[1:].encode(),
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in pairs],
        "client": None,
        "server": (url.hostname, int(url.port) if url.port else None),
        "env": env,
    }


async def _lifespan_startup(app):
    """Send lifespan.startup once; an app that does not speak lifespan is fine."""
    if id(app) in _started:
        return
    _started[id(app)] = True
    inbox = asyncio.Queue()
    ready = asyncio.get_event_loop().create_future()
    await inbox.put({"type": "lifespan.startup"})

    async def receive():
        return await inbox.get()

    async def send(msg):
        if not ready.done() and msg["type"] in ("lifespan.startup.complete", "lifespan.startup.failed"):
            ready.set_result(msg)

    async def run():
        try:
            await app({"type": "lifespan", "asgi": ASGI, "state": {}}, receive, send)
        except Exception:
            pass  # no lifespan support
        if not ready.done():
            ready.set_result(None)

    run_in_background(run())
    msg = await ready
    if msg and msg["type"] == "lifespan.startup.failed":
        raise RuntimeError(f"ASGI lifespan startup failed: {msg.get('message', '')}")


async def fetch(app, req, env, ctx=None):
    """Serve req (a workers.Request or a JavaScript Request) with the ASGI app."""
    await _lifespan_startup(app)
    js_req = req.js_object if isinstance(req, Request) else req
    body = b""
    if js_req.body is not None and js_req.method not in ("GET", "HEAD"):
        body = (await js_req.arrayBuffer()).to_bytes()
    scope = request_to_scope(req, env)
    sent_request = False
    start: dict[str, Any] = {}
    chunks = []
    done = asyncio.Event()

    async def receive():
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(msg):
        if msg["type"] == "http.response.start":
            start.update(msg)
        elif msg["type"] == "http.response.body":
            chunks.append(bytes(msg.get("body", b"")))
            if not msg.get("more_body", False):
                done.set()

    try:
        await app(scope, receive, send)
    finally:
        done.set()
    if not start:
        raise RuntimeError("the ASGI app sent no http.response.start")
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])]
    payload = b"".join(chunks)
    return Response(payload if payload else None, status=start.get("status", 200), headers=headers or None)
