"""The committed contract is the app's contract, and it says the whole truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.cli import openapi_document

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app() -> None:
    assert COMMITTED.read_text() == openapi_document(), (
        "openapi/openapi.json is stale: run `gateway openapi` and commit the result"
    )


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def test_every_error_is_declared_as_problem_json() -> None:
    doc = json.loads(openapi_document())
    for path, method, op in _operations(doc):
        errors = {code: spec for code, spec in op["responses"].items() if code.startswith(("4", "5"))}
        assert "429" in errors, f"{method} {path} does not declare 429"
        if op.get("security", doc["security"]):
            for code in ("400", "401", "403"):
                assert code in errors, f"{method} {path} does not declare {code}"
        if "{" in path:
            assert "404" in errors, f"{method} {path} takes an id but does not declare 404"
        for code, spec in errors.items():
            assert list(spec["content"]) == ["application/problem+json"], f"{method} {path} {code}"


def test_request_bodies_are_strict_and_published_so() -> None:
    doc = json.loads(openapi_document())
    schemas = doc["components"]["schemas"]
    seen = 0
    for path, method, op in _operations(doc):
        body = op.get("requestBody")
        if not body:
            continue
        schema = body["content"]["application/json"]["schema"]
        refs = [s["$ref"] for s in schema.get("oneOf", [schema]) if "$ref" in s]
        assert refs, f"{method} {path}: request body is not a named schema"
        for ref in refs:
            seen += 1
            component = schemas[ref.rsplit("/", 1)[1]]
            assert component.get("additionalProperties") is False, f"{ref} accepts unknown fields"
    assert seen >= 5


def test_security_scheme_is_declared() -> None:
    doc = json.loads(openapi_document())
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert doc["security"] == [{"bearerAuth": []}]
    assert doc["paths"]["/healthz"]["get"]["security"] == []
