"""The committed contract is the app's contract, and it says the whole truth."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from gateway.cli import openapi_document

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


@functools.cache
def _document() -> dict[str, Any]:
    """The app's document, built once for the tests that only read it."""
    return dict(json.loads(openapi_document()))


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
    doc = _document()
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
    doc = _document()
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
    doc = _document()
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert doc["security"] == [{"bearerAuth": []}]
    assert doc["paths"]["/healthz"]["get"]["security"] == []


def test_schema_names_are_unique() -> None:
    """Litestar names a component after its struct's class; when two structs in different
    modules share a name it keeps both under module-qualified keys (`channels_orders_schemas_Destination`)
    while their `title`s stay equal, and generated clients then drop one model and every
    operation that uses it. Each component is published under its own title, and no two titles
    name the same class in a generated client (which ignores case and separators)."""
    schemas = _document()["components"]["schemas"]
    qualified = {name: schema.get("title") for name, schema in schemas.items() if schema.get("title", name) != name}
    assert not qualified, f"struct names collide across modules (rename one struct): {qualified}"
    by_class: dict[str, list[str]] = {}
    for name in schemas:
        by_class.setdefault("".join(ch for ch in name.lower() if ch.isalnum()), []).append(name)
    clashes = [names for names in by_class.values() if len(names) > 1]
    assert not clashes, f"schemas that a client generator turns into one class: {clashes}"


def test_pages_publish_their_item_type() -> None:
    """`class LevelPage(Page[LevelOut])`: generated clients see `data` as a list of `LevelOut`."""
    schemas = _document()["components"]["schemas"]
    pages = {name: schema for name, schema in schemas.items() if name.endswith("Page")}
    assert len(pages) >= 20
    untyped = [name for name, schema in pages.items() if "$ref" not in schema["properties"]["data"]["items"]]
    assert not untyped, f"pages whose items are untyped: {untyped}"


def test_tags_are_declared_with_descriptions() -> None:
    """Each area has one tag, described once in `tags`, and each operation is filed under one."""
    doc = _document()
    declared = [tag["name"] for tag in doc["tags"]]
    assert len(declared) == len(set(declared))
    assert all(tag.get("description") for tag in doc["tags"])
    used = set()
    for path, method, op in _operations(doc):
        assert len(op.get("tags", [])) == 1, f"{method} {path} is not filed under one tag"
        used.update(op["tags"])
    assert used == set(declared), (
        f"used but not declared: {used - set(declared)}; declared, unused: {set(declared) - used}"
    )


def test_document_says_where_and_under_what_licence() -> None:
    doc = _document()
    assert doc["info"]["license"]["identifier"] == "Apache-2.0"
    assert doc["servers"][0]["url"] == "/", "the first server is the gateway that serves the document"
    assert all(server.get("description") for server in doc["servers"])


#: the operations a partner meets first: each carries a request (when it has a body) and a response example
MAIN_OPERATIONS = (
    "createSupplier",
    "createLocation",
    "createOffer",
    "setInventory",
    "createListing",
    "listListings",
    "createQuote",
    "createOrder",
    "getOrder",
    "createWebhookEndpoint",
)


def _examples(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    """(where, schema, value) of every example in the document's request bodies and responses."""
    found = []
    for path, method, op in _operations(doc):
        media = [("request", op.get("requestBody", {}).get("content", {}))]
        media += [(status, response.get("content", {})) for status, response in op["responses"].items()]
        for where, content in media:
            for media_type, spec in content.items():
                for name, example in spec.get("examples", {}).items():
                    found.append((f"{method} {path} {where} {media_type} {name}", spec["schema"], example["value"]))
                if "example" in spec:
                    found.append((f"{method} {path} {where} {media_type}", spec["schema"], spec["example"]))
    return found


def test_main_operations_carry_examples() -> None:
    doc = _document()
    by_id = {op["operationId"]: op for _, _, op in _operations(doc)}
    for operation_id in MAIN_OPERATIONS:
        op = by_id[operation_id]
        if "requestBody" in op:
            assert op["requestBody"]["content"]["application/json"].get("examples"), (
                f"{operation_id}: no request example"
            )
        success = [r for status, r in op["responses"].items() if status.startswith("2")]
        assert any(r.get("content", {}).get("application/json", {}).get("examples") for r in success), (
            f"{operation_id}: no response example"
        )


def test_every_example_is_valid_against_its_schema() -> None:
    """Examples are what partners copy: each one validates (JSON Schema 2020-12, formats too)."""
    import jsonschema_rs

    doc = _document()
    examples = _examples(doc)
    assert len(examples) >= 2 * len(MAIN_OPERATIONS) - 2
    for where, schema, value in examples:
        validator = jsonschema_rs.Draft202012Validator(
            {**schema, "components": doc["components"]}, validate_formats=True
        )
        errors = [f"{error.instance_path}: {error.message}" for error in validator.iter_errors(value)]
        assert not errors, f"{where}: the example does not match its schema: {errors}"


def test_the_example_check_catches_a_wrong_example() -> None:
    """The check above is not vacuous: an example that breaks its schema is reported."""
    import jsonschema_rs

    doc = _document()
    schema = doc["paths"]["/v1/orders"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    value = json.loads(
        json.dumps(
            doc["paths"]["/v1/orders"]["post"]["responses"]["201"]["content"]["application/json"]["examples"][
                "example"
            ]["value"]
        )
    )
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": doc["components"]}, validate_formats=True)
    assert validator.is_valid(value)
    value["total"]["amount"] = "17600"
    assert not validator.is_valid(value)
