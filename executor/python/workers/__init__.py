"""The Workers Python API as the almanac executor provides it.

The platform injects this package into site-packages while the worker's flags leave
`enable_python_external_sdk` off; the executor does the same (see executor/README.md).
Names and signatures follow the platform's SDK; the implementation is almanac's.
"""

from ._workers import (
    Blob,
    BlobEnding,
    BlobValue,
    Body,
    Context,
    DurableObject,
    FetchKwargs,
    FetchResponse,
    File,
    FormData,
    FormDataValue,
    Headers,
    JSBody,
    Request,
    RequestInitCfProperties,
    Response,
    WorkerEntrypoint,
    WorkflowEntrypoint,
    fetch,
    handler,
    import_from_javascript,
    python_from_rpc,
    python_to_rpc,
)

__all__ = [
    "Blob",
    "BlobEnding",
    "BlobValue",
    "Body",
    "Context",
    "DurableObject",
    "FetchKwargs",
    "FetchResponse",
    "File",
    "FormData",
    "FormDataValue",
    "Headers",
    "JSBody",
    "Request",
    "RequestInitCfProperties",
    "Response",
    "WorkerEntrypoint",
    "WorkflowEntrypoint",
    "env",
    "fetch",
    "handler",
    "import_from_javascript",
    "python_from_rpc",
    "python_to_rpc",
    "waitUntil",
]


def __getattr__(key):
    # `env` and `waitUntil` are read late: they belong to the request being served.
    if key in ("env", "waitUntil"):
        return getattr(import_from_javascript("cloudflare:workers"), key)
    raise AttributeError(f"module {__name__!r} has no attribute {key!r}")
