"""The published contract: OpenAPI config and a schema plugin that tells the whole truth.

Litestar does not publish `forbid_unknown_fields=True` as `additionalProperties: false`
(FIELD-NOTES), so a fuzzer would send extra fields the server rightly rejects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, Operation, SecurityScheme

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.openapi.spec import Schema
    from litestar.typing import FieldDefinition


class StrictStructSchemaPlugin(StructSchemaPlugin):
    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        config = getattr(field_definition.type_, "__struct_config__", None)
        if config is not None and config.forbid_unknown_fields:
            schema.additional_properties = False
        return schema


class PublicOperation(Operation):
    """An operation that needs no credential: publishes `security: []`, overriding the
    document-wide bearer requirement (Litestar drops an empty list)."""

    def to_schema(self) -> dict[str, Any]:
        return {**super().to_schema(), "security": []}


def operation_id(route_handler: Any, http_method: Any, path_components: Any) -> str:
    """`create_supplier` → `createSupplier`: the handler's name is the operation's name."""
    head, *rest = route_handler.handler_name.split("_")
    return head + "".join(word.title() for word in rest)


def openapi_config(version: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Open commerce gateway",
        version=version,
        description=(
            "Multi-tenant S2B2C retail-as-a-service gateway: supplier catalogue, inventory "
            "ledger and fulfilment as APIs. Errors are RFC 9457 problem documents."
        ),
        path="/",
        render_plugins=[ScalarRenderPlugin(path="/docs")],
        components=Components(
            security_schemes={
                "bearerAuth": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="A secret key `sk_…`, a publishable key `pk_…` or an OAuth access token.",
                )
            }
        ),
        security=[{"bearerAuth": []}],
        use_handler_docstrings=True,
        create_examples=False,
        operation_id_creator=operation_id,
    )


def is_strict(struct_type: type[msgspec.Struct]) -> bool:
    return bool(struct_type.__struct_config__.forbid_unknown_fields)
