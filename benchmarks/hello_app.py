"""The baseline for benchmarks/auth_get.py: the smallest Litestar JSON endpoint.

Served exactly like the gateway (granian, ASGI interface, same worker count):

    .venv/bin/python -m granian --interface asgi --workers 1 --port 8001 benchmarks.hello_app:app
"""

from litestar import Litestar, get


@get("/")
async def hello() -> dict:  # type: ignore[type-arg]
    return {"hello": "world"}


app = Litestar([hello])
