# The platform's first Python runtime exposed the SDK as `cloudflare.workers`; the
# executor keeps that name on the runtime that stands in for it (Pyodide 0.26).
from workers import *  # noqa: F401,F403
from workers import __all__  # noqa: F401
