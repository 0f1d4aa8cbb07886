"""Entrypoint plumbing of the almanac executor: what the platform's runtime does around
a Python worker (finding its handlers, calling them with the arguments they accept,
refusing what the platform refuses). Not part of the worker's API.

The platform's rules (workerd, python-entrypoint-helper.ts and introspection.py):
- a class named `Default` that subclasses `WorkerEntrypoint` serves the worker's events;
  while `python_no_global_handlers` is off its `fetch` is looked up as `on_fetch`;
- with no `Default`: module-level `on_<event>` functions (and `test`) while
  `python_no_global_handlers` is off; nothing at all once it is on;
- a handler receives only the positional arguments it declares.
"""

import inspect
import sys

try:
    import _cloudflare_compat_flags
except ImportError:
    _cloudflare_compat_flags = object()

# JavaScript modules the worker may import with workers.import_from_javascript().
_js_modules = {}

# The platform renames these class methods to on_<name> while global handlers are on.
_RENAMED_WHEN_LEGACY = ("fetch", "connect")

_NO_HANDLER = {
    "fetch": "Received a FetchEvent but we lack a handler for FetchEvents. "
    "Did you remember to export a fetch() function?",
    "scheduled": "Received a ScheduledEvent but we lack a handler for ScheduledEvents "
    "(a.k.a. Cron Triggers). Did you remember to export a scheduled() function?",
}


class WorkerRefused(Exception):
    """The platform itself would refuse this worker for this event; str(e) is the
    platform's own message."""


def flag(name):
    return bool(getattr(_cloudflare_compat_flags, name, False))


def js_module(name):
    return _js_modules.get(name)


def set_js_module(name, value):
    _js_modules[name] = value


def _positional_arity(fn):
    """How many positional arguments fn accepts; None when it takes *args."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    n = 0
    for p in sig.parameters.values():
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            return None
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            n += 1
    return n


def relaxed_call(fn, *args):
    """Call fn with as many of args as it declares (the platform's rule)."""
    n = _positional_arity(fn)
    return fn(*(args if n is None else args[:n]))


def _exported(mod):
    if hasattr(mod, "__all__"):
        names = list(mod.__all__)
    else:
        names = [k for k in dir(mod) if not k.startswith("_")]
    return [getattr(mod, k, None) for k in names]


def _workers_base(name):
    """The base class from whichever `workers` package the worker imported (built-in or
    vendored), or None when it imported none."""
    w = sys.modules.get("workers")
    return getattr(w, name, None) if w is not None else None


def entry_classes(mod, base_name):
    base = _workers_base(base_name)
    if not isinstance(base, type):
        return {}
    return {
        c.__name__: c
        for c in _exported(mod)
        if isinstance(c, type) and issubclass(c, base) and c is not base
    }


def describe(module_name):
    """What the worker exports, for the host: the default class, global handlers and
    Durable Object classes."""
    mod = sys.modules[module_name]
    legacy = not flag("python_no_global_handlers")
    default = entry_classes(mod, "WorkerEntrypoint").get("Default")
    handlers = []
    if legacy:
        handlers = [h for h in ("on_fetch", "on_scheduled", "test") if callable(getattr(mod, h, None))]
    return {
        "default": default is not None,
        "global_handlers": handlers,
        "durable_objects": sorted(entry_classes(mod, "DurableObject")),
        "legacy_global_handlers": legacy,
    }


def _to_response(result, who):
    """The JavaScript Response for what a fetch handler returned."""
    from js import Response as JsResponse

    if hasattr(result, "js_object"):
        result = result.js_object
    elif hasattr(result, "js_response"):
        result = result.js_response
    if isinstance(result, str):
        return JsResponse.new(result)
    if isinstance(result, (bytes, bytearray, memoryview)):
        from pyodide.ffi import to_js
        from js import Object

        headers = Object.fromEntries(to_js([["content-type", "application/octet-stream"]]))
        init = Object.fromEntries(to_js([["headers", headers]]))
        return JsResponse.new(to_js(bytes(result)), init)
    if getattr(getattr(result, "constructor", None), "name", "") == "Response":
        return result
    raise TypeError(
        f"{who} must return a Response, str or bytes, not {type(result).__name__}: {result!r}"[:500]
    )


# The platform introspects the main module once, after its import; so does the host
# (a session imports the module once; a reload is a new session).
_default_class = {}


def _default_of(mod):
    key = id(mod)
    if key not in _default_class:
        _default_class[key] = entry_classes(mod, "WorkerEntrypoint").get("Default")
    return _default_class[key]


async def dispatch(module_name, main_file, event, arg, env, ctx):
    """Deliver one event ("fetch", "scheduled" or "test") to the worker as the platform
    would. Returns a JavaScript Response for "fetch", None otherwise."""
    mod = sys.modules[module_name]
    legacy = not flag("python_no_global_handlers")
    default = _default_of(mod)
    if default is not None:
        name = "on_" + event if legacy and event in _RENAMED_WHEN_LEGACY else event
        inst = default(ctx, env)
        method = getattr(inst, name, None)
        if not callable(method):
            raise WorkerRefused(f"TypeError: Method {name} does not exist")
        result = relaxed_call(method, _from_rpc(arg), env, ctx)
        who = f"Default.{name}"
    elif legacy:
        name = "test" if event == "test" else "on_" + event
        fn = getattr(mod, name, None)
        if not callable(fn):
            raise WorkerRefused(f'Python entrypoint "{main_file}" does not export a handler named "{name}"')
        result = relaxed_call(fn, arg, env, ctx)
        who = name
    else:
        raise WorkerRefused(_NO_HANDLER.get(event, f"the worker exports no {event}() handler"))
    if inspect.isawaitable(result):
        result = await result
    if event != "fetch":
        return None
    return _to_response(result, who)


def _from_rpc(value):
    """Convert an event argument with the SDK the worker imported (a vendored SDK may
    lack the converter: then the JavaScript object is passed as it is)."""
    conv = _workers_base("python_from_rpc")
    return conv(value) if callable(conv) else value


def _to_rpc(value):
    conv = _workers_base("python_to_rpc")
    return conv(value) if callable(conv) else value


def make_instance(module_name, class_name, ctx, env):
    """An instance of the worker's class class_name (a Durable Object), built as the
    platform builds it: cls(ctx, env)."""
    cls = getattr(sys.modules[module_name], class_name, None)
    if not isinstance(cls, type):
        raise TypeError(f"There is no '{class_name}' class defined in the Python Worker's main module")
    return cls(ctx, env)


async def call_method(inst, name, args):
    """An RPC call on inst: arguments and result cross as the platform converts them;
    fetch() receives a workers.Request and answers a JavaScript Response."""
    method = getattr(inst, name, None)
    if not callable(method):
        raise TypeError(f"Method {name} does not exist")
    py_args = [_from_rpc(a) for a in args]
    result = relaxed_call(method, *py_args) if name == "fetch" else method(*py_args)
    if inspect.isawaitable(result):
        result = await result
    if name == "fetch":
        return _to_response(result, f"{type(inst).__name__}.fetch")
    return _to_rpc(result)
