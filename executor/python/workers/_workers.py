"""Implementation of the `workers` module (see __init__.py).

Every wrapper keeps the JavaScript object it stands for in `js_object`, so a value can
cross back to JavaScript without a copy. JavaScript errors raised by the Web APIs are
turned into the Python exceptions a Python programmer expects (TypeError, ValueError).
"""

import datetime
import functools
import inspect
import json
from collections.abc import Awaitable, Iterable, MutableMapping
from contextlib import ExitStack, contextmanager
from enum import StrEnum
from http import HTTPMethod, HTTPStatus
from types import LambdaType
from typing import Any, Protocol, TypedDict

import js
import pyodide.http
from pyodide.ffi import JsException, JsProxy, create_proxy, to_js

try:
    from pyodide.ffi import jsnull
except ImportError:  # Pyodide < 0.27 has no jsnull: null arrives as None
    jsnull = None

try:
    import _cloudflare_compat_flags
except ImportError:
    _cloudflare_compat_flags = object()

import _almanac_platform
from workers.workflows import NonRetryableError


class Context(Protocol):
    def waitUntil(self, other: Awaitable[Any]) -> None: ...


# Type names of the platform's SDK (annotations, not classes).
JSBody = "js.Blob | JsBuffer | js.FormData | js.ReadableStream | js.URLSearchParams"
Body = "str | FormData | JSBody"
Headers = "dict[str, str] | list[tuple[str, str]] | js.Headers"
FormDataValue = "str | js.Blob | Blob"
BlobValue = "str | bytes | js.ArrayBuffer | js.TypedArray | js.DataView | js.Blob | Blob | File"


class RequestInitCfProperties(TypedDict, total=False):
    apps: bool | None
    cacheEverything: bool | None
    cacheKey: str | None
    cacheTags: list[str] | None
    cacheTtl: int
    cacheTtlByStatus: dict[str, int]
    image: Any | None
    mirage: bool | None
    polish: str | None
    resolveOverride: str | None
    scrapeShield: bool | None
    webp: bool | None


class FetchKwargs(TypedDict, total=False):
    headers: Any
    body: Any
    method: HTTPMethod | str | None
    redirect: str | None
    cf: RequestInitCfProperties | None
    fetcher: Any


def get_compat_flag(flag: str) -> bool:
    """Whether the worker's compatibility flag `flag` is enabled (as the lock says)."""
    return bool(getattr(_cloudflare_compat_flags, flag, False))


def import_from_javascript(module_name: str) -> Any:
    """Import a JavaScript module. The executor provides `cloudflare:workers` (env,
    waitUntil) and `cloudflare:sockets`; any other name is an ImportError."""
    mod = _almanac_platform.js_module(module_name)
    if mod is None:
        raise ImportError(f"Failed to import '{module_name}': not available in the almanac executor")
    return mod


def _none_if_null(x):
    return None if x is jsnull else x


def _is_js_instance(val, js_cls_name):
    try:
        return isinstance(val, JsProxy) and val.constructor.name == js_cls_name
    except Exception:
        return False


def _js_options(d):
    return to_js(d, dict_converter=js.Object.fromEntries)


def _to_python_exception(exc):
    name = getattr(exc, "name", "")
    if name == "RangeError":
        return ValueError(exc.message)
    if name == "TypeError":
        return TypeError(exc.message)
    return exc


def _to_js_headers(headers):
    if isinstance(headers, dict):
        headers = list(headers.items())
    if isinstance(headers, list):
        h = js.Headers.new()
        for item in headers:
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise TypeError("headers must be a dict or a list of (name, value) pairs")
            h.append(str(item[0]), str(item[1]))
        return h
    if _is_js_instance(headers, "Headers"):
        return headers
    raise TypeError("Received unexpected type for headers argument")


@contextmanager
def _js_body(body):
    """The JavaScript value for a Python body, without copying bytes twice."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        px = create_proxy(bytes(body))
        buf = px.getBuffer()
        try:
            yield buf.data
        finally:
            buf.release()
            px.destroy()
        return
    if isinstance(body, (FormData, Blob)):
        yield body.js_object
        return
    yield body


_RESPONSE_JS_TYPES = {
    "Blob", "File", "ArrayBuffer", "DataView", "Uint8Array", "Uint8ClampedArray", "Int8Array",
    "Uint16Array", "Int16Array", "Uint32Array", "Int32Array", "Float32Array", "Float64Array",
    "BigInt64Array", "BigUint64Array", "FormData", "ReadableStream", "URLSearchParams", "Response",
}


class FetchResponse(pyodide.http.FetchResponse):
    """A response: what `fetch` returns and what `Response` builds."""

    def _adopt(self, js_resp):
        # The fields of Pyodide's FetchResponse, set directly: its constructor differs
        # between releases (0.29 builds a Request from the URL, which a constructed
        # Response does not have).
        self.js_response = js_resp
        self._url = js_resp.url
        self.js_request = None
        self.abort_controller = None
        self.abort_signal = None

    @property
    def body(self):
        return _none_if_null(self.js_response.body)

    @property
    def js_object(self):
        return self.js_response

    async def formData(self):
        return await self.form_data()

    async def form_data(self):
        self._raise_if_failed()
        try:
            return FormData(await self.js_response.formData())
        except JsException as exc:
            raise _to_python_exception(exc) from exc

    async def blob(self):
        self._raise_if_failed()
        return Blob(await self.js_response.blob())

    def replace_body(self, body):
        with _js_body(body) as b:
            return Response(js.Response.new(b, self.js_response))

    @staticmethod
    def redirect(url: str, status: HTTPStatus | int = HTTPStatus.FOUND):
        code = status.value if isinstance(status, HTTPStatus) else status
        try:
            return Response(js.Response.redirect(url, code))
        except JsException as exc:
            raise _to_python_exception(exc) from exc

    @staticmethod
    def from_json(data, status: HTTPStatus | int = HTTPStatus.OK, status_text="", headers=None):
        options = Response._create_options(status, status_text, headers)
        if "headers" not in options:
            options["headers"] = _to_js_headers({"content-type": "application/json"})
        elif not options["headers"].has("content-type"):
            options["headers"].set("content-type", "application/json")
        text = js.JSON.stringify(data) if isinstance(data, JsProxy) else json.dumps(data)
        try:
            return Response(js.Response.new(text, _js_options(options)))
        except JsException as exc:
            raise _to_python_exception(exc) from exc

    def json(self, *args, **kwargs):
        # On an instance: read the body as JSON (awaitable). On the class,
        # `Response.json(data, status=...)` builds a JSON response, as in JavaScript.
        if isinstance(self, FetchResponse):
            return super().json(*args, **kwargs)
        return Response.from_json(self, *args, **kwargs)


class Response(FetchResponse):
    """The response a handler returns (the web `Response`, Python style)."""

    def __init__(self, body=None, status=None, status_text="", headers=None, web_socket=None):
        if isinstance(body, JsProxy):
            name = getattr(getattr(body, "constructor", None), "name", "")
            if name not in _RESPONSE_JS_TYPES and not name.endswith("Array"):
                raise TypeError(f"Unsupported type in Response: {name}")
            if name == "Response":
                if status is not None or status_text or headers is not None:
                    raise ValueError("Expected no options when constructing Response from a js.Response")
                self._adopt(body)
                return
        elif body is not None and not isinstance(body, (str, bytes, bytearray, memoryview, FormData, Blob)):
            raise TypeError(f"Unsupported type in Response: {type(body).__name__}")
        options = self._create_options(status, status_text, headers, web_socket)
        try:
            with _js_body(body) as b:
                js_resp = js.Response.new(b, _js_options(options))
        except JsException as exc:
            raise _to_python_exception(exc) from exc
        self._adopt(js_resp)

    def __repr__(self):
        parts = [f"status={self.status}"]
        if self.js_object.statusText:
            parts.append(f"status_text={self.js_object.statusText!r}")
        ct = self.js_object.headers.get("content-type")
        if ct:
            parts.append(f"content_type={ct!r}")
        return f"Response({', '.join(parts)})"

    @staticmethod
    def _create_options(status=HTTPStatus.OK, status_text="", headers=None, web_socket=None):
        options = {}
        if status:
            options["status"] = status.value if isinstance(status, HTTPStatus) else int(status)
        if status_text:
            options["statusText"] = status_text
        if headers:
            options["headers"] = _to_js_headers(headers)
        if web_socket:
            options["webSocket"] = web_socket
        return options


async def fetch(resource, **other_options) -> Response:
    """Outbound fetch. The executor refuses the network unless `--allow-net` is given;
    the refusal arrives here as an OSError naming the URL."""
    if isinstance(resource, Request):
        resource = resource.js_object
    fetcher = other_options.pop("fetcher", None) or js.fetch
    method = other_options.get("method")
    if isinstance(method, HTTPMethod):
        other_options["method"] = method.value
    if "headers" in other_options and other_options["headers"] is not None:
        other_options["headers"] = _to_js_headers(other_options["headers"])
    with ExitStack() as stack:
        if "body" in other_options and other_options["body"] is not None:
            other_options["body"] = stack.enter_context(_js_body(other_options["body"]))
        try:
            js_resp = await fetcher(resource, _js_options(other_options))
        except JsException as exc:
            raise OSError(exc.message) from None
    return Response(js_resp)


def _py_form_value(item):
    if _is_js_instance(item, "File"):
        return File(item, item.name)
    if _is_js_instance(item, "Blob"):
        return Blob(item)
    return item


def _js_form_value(item):
    return item.js_object if isinstance(item, Blob) else item


class FormData(MutableMapping):
    """Form fields (web `FormData`) as a mapping; `get_all` for repeated names."""

    def __init__(self, form_data=None):
        if not form_data:
            self._js_form_data = js.FormData.new()
        elif isinstance(form_data, dict):
            self._js_form_data = js.FormData.new()
            for k, v in form_data.items():
                self._js_form_data.append(k, _js_form_value(v))
        elif _is_js_instance(form_data, "FormData"):
            self._js_form_data = form_data
        else:
            raise TypeError("Expected form_data to be a dict or an instance of FormData")

    def __getitem__(self, key):
        if not self._js_form_data.has(key):
            raise KeyError(key)
        return _py_form_value(self._js_form_data.get(key))

    def __setitem__(self, key, value):
        if isinstance(value, list):
            raise TypeError("Expected single item in arguments to FormData.__setitem__")
        self._js_form_data.set(key, _js_form_value(value))

    def __delitem__(self, key):
        self._js_form_data.delete(key)

    def __contains__(self, key):
        return bool(self._js_form_data.has(key))

    def __iter__(self):
        seen = []
        for k in self._js_form_data.keys():
            if k not in seen:
                seen.append(k)
        return iter(seen)

    def __len__(self):
        return len(list(iter(self)))

    def append(self, key, value, filename=None):
        if filename is None:
            self._js_form_data.append(key, _js_form_value(value))
        else:
            self._js_form_data.append(key, _js_form_value(value), filename)

    def delete(self, key):
        self._js_form_data.delete(key)

    def get_all(self, key):
        return [_py_form_value(x) for x in self._js_form_data.getAll(key)]

    @property
    def js_object(self):
        return self._js_form_data


class BlobEnding(StrEnum):
    TRANSPARENT = "transparent"
    NATIVE = "native"


@contextmanager
def _blob_part(e):
    if isinstance(e, str):
        yield e
    elif isinstance(e, Blob):
        yield e.js_object
    elif _is_js_instance(e, "Blob") or _is_js_instance(e, "File"):
        yield e
    elif isinstance(e, (bytes, bytearray, memoryview)):
        with _js_body(e) as b:
            yield b
    elif isinstance(e, JsProxy):
        yield e
    else:
        raise TypeError(f"Don't know how to handle {type(e)} for Blob()")


def _blob_parts(parts):
    if isinstance(parts, (str, bytes, bytearray, memoryview, Blob)) or isinstance(parts, JsProxy):
        return [parts]
    return list(parts)


def _blob_options(content_type, endings, last_modified=None):
    opts = {}
    if content_type:
        opts["type"] = content_type
    if endings:
        opts["endings"] = str(endings)
    if last_modified is not None:
        opts["lastModified"] = last_modified
    return _js_options(opts)


class Blob:
    """Immutable bytes with a content type (web `Blob`)."""

    def __init__(self, blob_parts, content_type=None, endings=None):
        if _is_js_instance(blob_parts, "Blob") and content_type is None and endings is None:
            self._js_blob = blob_parts
            return
        if content_type is None and isinstance(blob_parts, Blob):
            content_type = blob_parts.content_type
        with ExitStack() as stack:
            parts = [stack.enter_context(_blob_part(p)) for p in _blob_parts(blob_parts)]
            self._js_blob = js.Blob.new(to_js(parts), _blob_options(content_type, endings))

    @property
    def size(self) -> int:
        return self._js_blob.size

    @property
    def content_type(self) -> str:
        return self._js_blob.type

    @property
    def js_object(self):
        return self._js_blob

    async def text(self) -> str:
        return await self._js_blob.text()

    async def bytes(self) -> bytes:
        return (await self._js_blob.arrayBuffer()).to_bytes()

    def slice(self, start=None, end=None, content_type=None):
        return Blob(self._js_blob.slice(start, end, content_type))


class File(Blob):
    """A named Blob (web `File`)."""

    def __init__(self, blob_parts, filename, content_type=None, endings=None, last_modified=None):
        if _is_js_instance(blob_parts, "File") and content_type is None and endings is None:
            self._js_blob = blob_parts
            return
        if content_type is None and isinstance(blob_parts, Blob):
            content_type = blob_parts.content_type
        with ExitStack() as stack:
            parts = [stack.enter_context(_blob_part(p)) for p in _blob_parts(blob_parts)]
            self._js_blob = js.File.new(
                to_js(parts), filename, _blob_options(content_type, endings, last_modified)
            )

    @property
    def name(self) -> str:
        return self._js_blob.name

    @property
    def last_modified(self) -> int:
        return self._js_blob.lastModified


class Request:
    """An incoming or outgoing request (web `Request`, Python style)."""

    def __init__(self, input, **other_options):
        if _is_js_instance(input, "Request"):
            if other_options:
                raise ValueError("Expected no options when constructing Request from a js.Request")
            self._js_request = input
            return
        method = other_options.get("method")
        if isinstance(method, HTTPMethod):
            other_options["method"] = method.value
        if other_options.get("headers") is not None:
            other_options["headers"] = _to_js_headers(other_options["headers"])
        src = input._js_request if isinstance(input, Request) else input
        with ExitStack() as stack:
            if other_options.get("body") is not None:
                other_options["body"] = stack.enter_context(_js_body(other_options["body"]))
            try:
                self._js_request = js.Request.new(src, _js_options(other_options))
            except JsException as exc:
                raise _to_python_exception(exc) from exc

    def __repr__(self):
        return f"Request(method={self._js_request.method!r}, url={self._js_request.url!r})"

    @property
    def js_object(self):
        return self._js_request

    @property
    def body(self):
        return _none_if_null(self._js_request.body)

    @property
    def body_used(self) -> bool:
        return self._js_request.bodyUsed

    @property
    def cache(self) -> str:
        return self._js_request.cache

    @property
    def credentials(self) -> str:
        return self._js_request.credentials

    @property
    def destination(self) -> str:
        return self._js_request.destination

    @property
    def headers(self):
        """An http.client.HTTPMessage. Under `python_request_headers_preserve_commas`
        repeated headers stay as the platform joins them (Set-Cookie one per value)."""
        import http.client

        result = http.client.HTTPMessage()
        js_headers = self._js_request.headers
        if not get_compat_flag("python_request_headers_preserve_commas"):
            for key, val in js_headers:
                result[key] = val.strip()
            return result
        for value in js_headers.getSetCookie():
            result.add_header("Set-Cookie", value.strip())
        for key, val in js_headers:
            if key.lower() != "set-cookie":
                result.add_header(key, val.strip())
        return result

    @property
    def integrity(self) -> str:
        return self._js_request.integrity

    @property
    def is_history_navigation(self) -> bool:
        return bool(getattr(self._js_request, "isHistoryNavigation", False))

    @property
    def keepalive(self) -> bool:
        return self._js_request.keepalive

    @property
    def method(self) -> HTTPMethod:
        return HTTPMethod[self._js_request.method]

    @property
    def mode(self) -> str:
        return self._js_request.mode

    @property
    def redirect(self) -> str:
        return self._js_request.redirect

    @property
    def referrer(self) -> str:
        return self._js_request.referrer

    @property
    def referrer_policy(self) -> str:
        return self._js_request.referrerPolicy

    @property
    def url(self) -> str:
        return self._js_request.url

    def _raise_if_failed(self):
        if self.body_used:
            raise OSError("Body already used")

    async def buffer(self):
        self._raise_if_failed()
        return await self._js_request.arrayBuffer()

    async def bytes(self) -> bytes:
        return (await self.buffer()).to_bytes()

    async def text(self) -> str:
        self._raise_if_failed()
        return await self._js_request.text()

    async def json(self, **kwargs):
        return json.loads(await self.text(), **kwargs)

    async def form_data(self):
        self._raise_if_failed()
        try:
            return FormData(await self._js_request.formData())
        except JsException as exc:
            raise _to_python_exception(exc) from exc

    async def blob(self):
        self._raise_if_failed()
        return Blob(await self._js_request.blob())

    def clone(self):
        self._raise_if_failed()
        return Request(self._js_request.clone())


# ---- values crossing an RPC boundary (entrypoint methods, Durable Object stubs)


def _from_rpc_converter(value, convert, cache):
    if not isinstance(value, JsProxy):
        return value
    name = getattr(getattr(value, "constructor", None), "name", "")
    if name == "Response":
        return Response(value)
    if name == "Request":
        return Request(value)
    if name == "FormData":
        return FormData(value)
    if name == "File":
        return File(value, value.name)
    if name == "Blob":
        return Blob(value)
    if name == "Date":
        return datetime.datetime.fromtimestamp(value.getTime() / 1000)
    if name == "Error":
        return Exception(value.toString())
    if name == "Number":
        return value.valueOf()
    return value


def python_from_rpc(obj):
    """JavaScript values (Request, Response, Blob, Map, arrays...) to their Python form."""
    if not isinstance(obj, JsProxy):
        return obj
    name = getattr(getattr(obj, "constructor", None), "name", "")
    if name in ("TestController",):
        return None
    if name in ("Request", "Response", "FormData", "File", "Blob", "Date", "Error", "Number"):
        return _from_rpc_converter(obj, None, None)
    if name in ("Object", "Array", "Map", "Set", ""):
        return obj.to_py(default_converter=_from_rpc_converter)
    return obj


def _refuse_rpc_type(value):
    if _is_js_instance(value, "RegExp"):
        raise TypeError(f"{value.constructor.name} cannot be sent over RPC.")
    if isinstance(value, (tuple, bytearray, LambdaType)):
        raise TypeError(f"{type(value)} cannot be sent over RPC.")
    if inspect.isawaitable(value):
        raise TypeError(f"Awaitable {type(value)} cannot be sent over RPC.")
    if isinstance(value, dict):
        for v in value.values():
            _refuse_rpc_type(v)
    elif isinstance(value, (list, set, frozenset)):
        for v in value:
            _refuse_rpc_type(v)


def _to_rpc_converter(obj, convert, cache):
    if obj is None:
        return obj
    if hasattr(obj, "js_object"):
        return obj.js_object
    if isinstance(obj, datetime.datetime):
        return js.Date.new(obj.timestamp() * 1000)
    if isinstance(obj, Exception):
        return js.Error.new(str(obj))
    _refuse_rpc_type(obj)
    return obj


def python_to_rpc(value):
    """Python values (this module's wrappers, dict, list, datetime...) to JavaScript."""
    if hasattr(value, "js_object"):
        return value.js_object
    _refuse_rpc_type(value)
    return to_js(value, default_converter=_to_rpc_converter, dict_converter=js.Map.new)


# ---- bindings seen from Python


class _FetcherWrapper:
    """A service binding or a Durable Object stub: methods are RPC calls."""

    def __init__(self, binding):
        self._binding = binding

    def __getattr__(self, name):
        attr = getattr(self._binding, name)
        if not callable(attr):
            return attr

        async def call(*args, **kwargs):
            js_args = [python_to_rpc(a) for a in args]
            if kwargs:
                js_args.append(python_to_rpc(kwargs))
            result = attr(*js_args)
            if hasattr(result, "then"):
                result = await result
            return python_from_rpc(result)

        setattr(self, name, call)
        return call

    def fetch(self, *args, **kwargs):
        return fetch(*args, fetcher=self._binding.fetch, **kwargs)


class _DurableObjectNamespaceWrapper:
    def __init__(self, binding):
        self._binding = binding

    def __getattr__(self, name):
        return getattr(self._binding, name)

    def get(self, *args, **kwargs):
        return _FetcherWrapper(self._binding.get(*args, **kwargs))

    def getByName(self, *args, **kwargs):
        return _FetcherWrapper(self._binding.getByName(*args, **kwargs))

    def jurisdiction(self, *args, **kwargs):
        return _DurableObjectNamespaceWrapper(self._binding.jurisdiction(*args, **kwargs))


class _EnvWrapper:
    """`self.env`: attribute access to bindings; stubs and namespaces wrapped for RPC."""

    def __init__(self, env):
        self._env = env

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            binding = getattr(self._env, name)
        except AttributeError:
            raise AttributeError(f"env has no binding named {name!r}") from None
        kind = getattr(getattr(binding, "constructor", None), "name", "")
        if kind in ("Fetcher",):
            binding = _FetcherWrapper(binding)
        elif kind == "DurableObjectNamespace":
            binding = _DurableObjectNamespaceWrapper(binding)
        setattr(self, name, binding)
        return binding

    def __getitem__(self, name):
        return self.__getattr__(name)

    def __contains__(self, name):
        return hasattr(self._env, name)


def handler(func):
    """For 2024-style global handlers: the request becomes a `workers.Request` and `env`
    gives attribute access to the bindings."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if args and _is_js_instance(args[0], "Request"):
            args = (Request(args[0]), *args[1:])
        if len(args) > 1:
            args = (args[0], _EnvWrapper(args[1]), *args[2:])
        return func(*args, **kwargs)

    return wrapper


def _wrap_subclass(cls):
    init = cls.__init__

    @functools.wraps(init)
    def wrapped_init(self, *args, **kwargs):
        if len(args) > 1 and not isinstance(args[1], _EnvWrapper):
            args = (args[0], _EnvWrapper(args[1]), *args[2:])
        init(self, *args, **kwargs)

    cls.__init__ = wrapped_init


class _Entrypoint:
    """What the platform's base classes share: `self.ctx` and `self.env`, and a
    subclass's `env` wrapped for attribute access to the bindings. Private: the public
    classes below stay distinct (a DurableObject is no WorkerEntrypoint)."""

    def __init__(self, ctx: Context, env: Any):
        self.ctx = ctx
        self.env = env

    def __init_subclass__(cls, **_kwargs):
        # The public bases themselves keep the plain __init__; user classes get the wrap.
        if _Entrypoint not in cls.__bases__:
            _wrap_subclass(cls)


class DurableObject(_Entrypoint):
    """Base class of a Durable Object: `self.ctx` (state, storage), `self.env`."""


class WorkerEntrypoint(_Entrypoint):
    """Base class of an entrypoint; the class named `Default` serves the worker's events."""


class WorkflowEntrypoint(_Entrypoint):
    """Base class of a Workflow (the executor runs no workflow engine)."""

