import sys

from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        v = sys.version_info
        return Response(f"Hello world! (Python {v.major}.{v.minor}, {request.method} {request.url})")
