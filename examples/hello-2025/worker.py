import sys

from js import Response


async def on_fetch(request, env):
    v = sys.version_info
    return Response.new(f"Hello world! (Python {v.major}.{v.minor}, {request.method} {request.url})")
