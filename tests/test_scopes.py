"""Every operation declares the OAuth scope it needs (gateway.oauth.scopes), and the contract
publishes it: an operation added later without one fails here, by name."""

from __future__ import annotations

import json
from pathlib import Path

from litestar import Controller, Litestar, get, post

from gateway.app import create_app
from gateway.oauth import scopes
from gateway.settings import Settings

CONTRACT = json.loads((Path(__file__).resolve().parent.parent / "openapi" / "openapi.json").read_text())


def test_every_v1_operation_declares_a_scope() -> None:
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    assert scopes.apply(app.routes) == [], (
        "these operations declare no OAuth scope: give their controller opt={'scope_area': ...}"
    )


def test_the_contract_publishes_each_operations_scope() -> None:
    published = CONTRACT["components"]["securitySchemes"]["oauth2"]
    assert set(published["flows"]["clientCredentials"]["scopes"]) == set(scopes.ALL_SCOPES)
    assert published["flows"]["authorizationCode"]["tokenUrl"] == "/oauth/token"
    for path, item in CONTRACT["paths"].items():
        for method, operation in item.items():
            if not path.startswith("/v1") or method == "parameters":
                continue
            security = operation.get("security")
            assert security and security[0] == {"bearerAuth": []}, f"{method} {path}"
            (needed,) = security[1]["oauth2"]
            verb = "read" if method == "get" else "write"
            assert needed.startswith(f"{verb}:") and needed in scopes.ALL_SCOPES, f"{method} {path}: {needed}"


def test_the_declaration_mechanism() -> None:
    class Declared(Controller):
        path = "/v1/things"
        opt = {"scope_area": "catalogue"}

        @get()
        async def list_things(self) -> None: ...

        @post("/search", opt={"scope": "read:catalogue"})
        async def search_things(self) -> None: ...

    @get("/v1/forgotten")
    async def forgotten() -> None: ...

    app = Litestar([Declared, forgotten])
    assert scopes.apply(app.routes) == ["GET /v1/forgotten"]
    by_path = {route.path: route for route in app.routes}
    [listing] = [h for h in by_path["/v1/things"].route_handlers if "GET" in h.http_methods]
    [search] = [h for h in by_path["/v1/things/search"].route_handlers if "POST" in h.http_methods]
    [lost] = [h for h in by_path["/v1/forgotten"].route_handlers if "GET" in h.http_methods]
    assert scopes.needed(listing, "GET") == "read:catalogue"
    assert scopes.needed(search, "POST") == "read:catalogue"
    assert scopes.needed(lost, "GET") == scopes.UNDECLARED  # no token holds it: refused
    assert scopes.expand(["write:orders"]) == {"write:orders", "read:orders"}
