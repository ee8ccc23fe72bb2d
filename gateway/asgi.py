"""The ASGI entry point the server imports in each worker: `gateway.asgi:app`."""

from gateway.app import create_app

app = create_app()
