"""The published contract: OpenAPI config and a schema plugin that tells the whole truth.

Litestar does not publish `forbid_unknown_fields=True` as `additionalProperties: false`
(FIELD-NOTES), so a fuzzer would send extra fields the server rightly rejects. Nor does it
publish the `msgspec.Meta` constraints of a type outside a struct field (a query parameter,
the items of a list), nor that a body typed `T | None = None` may be left out: both are
made true here.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import (
    Components,
    Example,
    Link,
    OAuthFlow,
    OAuthFlows,
    OpenAPI,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
    SecurityScheme,
    Server,
    Tag,
)
from litestar.openapi.spec.license import License
from litestar.params import KwargDefinition
from litestar.plugins.core._msgspec import kwarg_definition_from_field
from litestar.types.empty import Empty
from litestar.typing import FieldDefinition
from litestar.utils.typing import _substitute_typevars

from gateway.http.examples import EXAMPLES

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.openapi.spec import Reference

#: `msgspec.inspect` constraint attribute → `KwargDefinition` attribute, by kind of type
_SCALAR_CONSTRAINTS: dict[type, dict[str, str]] = {
    msgspec.inspect.StrType: {"min_length": "min_length", "max_length": "max_length", "pattern": "pattern"},
    msgspec.inspect.IntType: {"gt": "gt", "ge": "ge", "lt": "lt", "le": "le", "multiple_of": "multiple_of"},
    msgspec.inspect.FloatType: {"gt": "gt", "ge": "ge", "lt": "lt", "le": "le", "multiple_of": "multiple_of"},
    msgspec.inspect.ListType: {"min_length": "min_items", "max_length": "max_items"},
}


def _meta_constraints(field_definition: FieldDefinition) -> dict[str, Any]:
    """The constraints an `Annotated[str | int | float, msgspec.Meta(...)]` puts on its values."""
    if not any(isinstance(meta, msgspec.Meta) for meta in field_definition.metadata):
        return {}
    try:
        info = msgspec.inspect.type_info(field_definition.raw)
    except Exception:  # not a type msgspec can describe: leave it to Litestar
        return {}
    kwargs: dict[str, Any] = {}
    if isinstance(info, msgspec.inspect.Metadata):
        if info.extra_json_schema and "description" in info.extra_json_schema:
            kwargs["description"] = info.extra_json_schema["description"]
        info = info.type
    for attribute, kwarg in _SCALAR_CONSTRAINTS.get(type(info), {}).items():
        if (value := getattr(info, attribute)) is not None:
            kwargs[kwarg] = value
    return kwargs


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """Structs as Litestar publishes them, plus `additionalProperties: false` for strict ones;
    the `msgspec.Meta` constraints of scalar types where Litestar drops them; the item type of
    generic subclasses (`Page[T]`); and `T` for a field typed `T | UnsetType`."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return super().is_plugin_supported_field(field_definition) or self._unpublished_meta(field_definition)

    @staticmethod
    def _unpublished_meta(field_definition: FieldDefinition) -> bool:
        kwarg = field_definition.kwarg_definition
        if kwarg is not None and not isinstance(kwarg, KwargDefinition):
            return False
        constraints = _meta_constraints(field_definition)
        return bool(constraints) and all(getattr(kwarg, name, None) is None for name in constraints)

    def to_openapi_schema(  # type: ignore[override]
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema | Reference:
        if not super().is_plugin_supported_field(field_definition):
            plain = FieldDefinition.from_annotation(
                field_definition.annotation,
                name=field_definition.name,
                default=field_definition.default,
                kwarg_definition=KwargDefinition(**_meta_constraints(field_definition)),
            )
            return schema_creator.for_field_definition(plain)
        schema = self._struct_schema(field_definition, schema_creator)
        config = getattr(field_definition.type_, "__struct_config__", None)
        if config is not None and config.forbid_unknown_fields:
            schema.additional_properties = False
        _restore_zero_bounds(schema, field_definition.type_)
        _collapse_single_options(schema)
        return schema

    def _struct_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        """Litestar's struct schema (its `StructSchemaPlugin.to_openapi_schema`), with the type
        variables a subclass fixes resolved: `class LevelPage(Page[LevelOut])` was published with
        `data: array of object`, and generated clients had untyped pages."""
        hints = field_definition.get_type_hints(include_extras=True, resolve_generics=True)
        if typevars := _inherited_typevars(field_definition.type_):
            hints = {name: _substitute_typevars(hint, typevars) for name, hint in hints.items()}
        info: msgspec.inspect.StructType = msgspec.inspect.type_info(field_definition.type_)  # type: ignore[assignment]
        properties = {}
        for field in info.fields:
            kwargs: dict[str, Any] = {}
            if kwarg_definition := kwarg_definition_from_field(field)[0]:
                kwargs["kwarg_definition"] = kwarg_definition
            properties[field.encode_name] = FieldDefinition.from_annotation(
                annotation=hints[field.name],
                name=field.encode_name,
                default=field.default if field.default not in {msgspec.NODEFAULT, msgspec.UNSET} else Empty,
                **kwargs,
            )
        required = [field.encode_name for field in info.fields if self._is_field_required(field=field)]
        if info.tag_field:  # a tagged union's tag, published as a const
            properties[info.tag_field] = FieldDefinition.from_annotation(Literal[info.tag])  # type: ignore[valid-type]
            required.append(info.tag_field)
        return schema_creator.create_component_schema(
            field_definition, required=sorted(required), property_fields=properties
        )


def _inherited_typevars(struct_type: Any) -> dict[Any, Any]:
    """The type variables that `struct_type`'s bases fix: `Page[LevelOut]` → `{T: LevelOut}`."""
    found: dict[Any, Any] = {}
    for cls in reversed(getattr(struct_type, "__mro__", ())):
        for base in cls.__dict__.get("__orig_bases__", ()):
            origin = get_origin(base)
            parameters = getattr(origin, "__parameters__", ())
            found.update(zip(parameters, get_args(base), strict=False))
    return found


_NUMERIC_BOUNDS = {"ge": "minimum", "gt": "exclusive_minimum", "le": "maximum", "lt": "exclusive_maximum"}


def _zero_bounds(info: Any) -> dict[str, int]:
    """Numeric bounds equal to 0 in a field's msgspec type (looking through `X | None`)."""
    if isinstance(info, msgspec.inspect.UnionType):
        found: dict[str, int] = {}
        for option in info.types:
            found.update(_zero_bounds(option))
        return found
    if isinstance(info, msgspec.inspect.Metadata):
        info = info.type
    if isinstance(info, (msgspec.inspect.IntType, msgspec.inspect.FloatType)):
        return {key: 0 for attr, key in _NUMERIC_BOUNDS.items() if getattr(info, attr) == 0}
    return {}


def _restore_zero_bounds(schema: Schema, struct_type: Any) -> None:
    """Litestar publishes a bound only when it is truthy, so `ge=0` on an optional or nested
    field vanished from the contract (and a fuzzer then sends -1 as "valid"). Put it back."""
    try:
        info = msgspec.inspect.type_info(struct_type)
    except Exception:  # not a struct msgspec can describe
        return
    for field in getattr(info, "fields", ()):
        bounds = _zero_bounds(field.type)
        prop = (schema.properties or {}).get(field.encode_name)
        if not bounds or not isinstance(prop, Schema):
            continue
        numeric = [o for o in prop.one_of or [] if isinstance(o, Schema) and o.type != OpenAPIType.NULL]
        for target in [prop, *numeric]:
            for key, value in bounds.items():
                if getattr(target, key) is None:
                    setattr(target, key, value)


def _collapse_single_options(schema: Schema) -> None:
    """A field typed `T | msgspec.UnsetType` (a PATCH body's "leave it as it is") comes out of
    Litestar as `oneOf: [T]`: one option, which linters flag and which says nothing more than
    `T`. Publish `T` itself, keeping what the field adds (its description)."""
    for name, prop in (schema.properties or {}).items():
        if not isinstance(prop, Schema) or prop.one_of is None or len(prop.one_of) != 1:
            continue
        (option,) = prop.one_of
        if isinstance(option, Schema):
            merged = dataclasses.replace(option)
            for field in dataclasses.fields(prop):
                if field.name != "one_of" and getattr(merged, field.name) is None:
                    setattr(merged, field.name, getattr(prop, field.name))
            schema.properties[name] = merged  # type: ignore[index]
        else:  # the very Reference: Litestar rewrites its `$ref` once it has named every component
            option.description = option.description or prop.description
            schema.properties[name] = option  # type: ignore[index]


def _accepts_null(schema: Any) -> bool:
    if not isinstance(schema, Schema):
        return False
    types = schema.type if isinstance(schema.type, list) else [schema.type]
    return OpenAPIType.NULL in types or any(_accepts_null(option) for option in schema.one_of or [])


#: OpenAPI links: how a response's ids feed the next call (operationId → status → links).
#: Client generators and Schemathesis' stateful runs follow them: order → fulfilment → handover.
_FULFILMENT = "$response.body#/id"
LINKS: dict[str, dict[str, dict[str, tuple[str, dict[str, str]]]]] = {
    "createQuote": {
        "201": {
            "GetQuote": ("getQuote", {"quote_id": "$response.body#/id"}),
            "ReleaseQuote": ("releaseQuote", {"quote_id": "$response.body#/id"}),
        }
    },
    "createOrder": {
        "201": {
            "GetOrder": ("getOrder", {"order_id": "$response.body#/id"}),
            "CancelOrder": ("cancelOrder", {"order_id": "$response.body#/id"}),
            "AcceptFulfilmentOrder": (
                "acceptFulfilmentOrder",
                {"fulfilment_id": "$response.body#/fulfilment_orders/0/id"},
            ),
            "RejectFulfilmentOrder": (
                "rejectFulfilmentOrder",
                {"fulfilment_id": "$response.body#/fulfilment_orders/0/id"},
            ),
        }
    },
    "listFulfilmentOrders": {
        "200": {"AcceptFulfilmentOrder": ("acceptFulfilmentOrder", {"fulfilment_id": "$response.body#/data/0/id"})}
    },
    "acceptFulfilmentOrder": {
        "200": {
            "PickFulfilmentOrder": ("pickFulfilmentOrder", {"fulfilment_id": _FULFILMENT}),
            "ShipFulfilmentOrder": ("shipFulfilmentOrder", {"fulfilment_id": _FULFILMENT}),
            "MarkReadyForPickup": ("markReadyForPickup", {"fulfilment_id": _FULFILMENT}),
            "RejectFulfilmentOrder": ("rejectFulfilmentOrder", {"fulfilment_id": _FULFILMENT}),
        }
    },
    "pickFulfilmentOrder": {
        "200": {
            "ShipFulfilmentOrder": ("shipFulfilmentOrder", {"fulfilment_id": _FULFILMENT}),
            "MarkReadyForPickup": ("markReadyForPickup", {"fulfilment_id": _FULFILMENT}),
        }
    },
    "shipFulfilmentOrder": {
        "200": {"DeliverFulfilmentOrder": ("deliverFulfilmentOrder", {"fulfilment_id": _FULFILMENT})}
    },
}


class VerbatimExample(Example):
    """An example published as it is: Litestar drops every `None` inside a spec object, so a
    response example lost its `"revoked_at": null` and broke its own schema."""

    def to_schema(self) -> dict[str, Any]:
        return {"summary": self.summary, "value": self.value}


def _add_examples(operation: Operation, examples: dict[str, Any]) -> None:
    """`EXAMPLES[operationId]` as the JSON media type's `examples` of its request and responses."""
    body = operation.request_body
    if "request" in examples and isinstance(body, RequestBody) and "application/json" in body.content:
        summary, value = examples["request"]
        body.content["application/json"].examples = {"example": VerbatimExample(summary=summary, value=value)}
    for status, (summary, value) in examples.get("responses", {}).items():
        response = (operation.responses or {}).get(status)
        if isinstance(response, OpenAPIResponse) and "application/json" in (response.content or {}):
            response.content["application/json"].examples = {  # type: ignore[index]
                "example": VerbatimExample(summary=summary, value=value)
            }


class GatewayOpenAPI(OpenAPI):
    """Litestar marks every request body `required`; a body typed `T | None = None` (the
    `…/activate`, `…/revoke` actions) may be left out, and the contract says so. It also
    publishes no links; `LINKS` adds them; nor examples, which `EXAMPLES` adds."""

    def to_schema(self) -> dict[str, Any]:
        for item in (self.paths or {}).values():
            for operation in (item.get, item.put, item.post, item.patch, item.delete):
                if operation is not None and operation.operation_id in EXAMPLES:
                    _add_examples(operation, EXAMPLES[operation.operation_id])
        for item in (self.paths or {}).values():
            for operation in (item.get, item.put, item.post, item.patch, item.delete):
                if operation is None or operation.operation_id not in LINKS:
                    continue
                for status, links in LINKS[operation.operation_id].items():
                    response = (operation.responses or {}).get(status)
                    if isinstance(response, OpenAPIResponse):
                        response.links = {
                            name: Link(operation_id=target, parameters=dict(parameters))
                            for name, (target, parameters) in links.items()
                        }
        for item in (self.paths or {}).values():
            for operation in (item.get, item.put, item.post, item.patch, item.delete):
                body = operation.request_body if operation is not None else None
                if isinstance(body, RequestBody) and all(
                    _accepts_null(media.schema) for media in (body.content or {}).values()
                ):
                    body.required = False
        return super().to_schema()


class GatewayOpenAPIConfig(OpenAPIConfig):
    def to_openapi_schema(self) -> OpenAPI:
        base = super().to_openapi_schema()
        return GatewayOpenAPI(**{field.name: getattr(base, field.name) for field in dataclasses.fields(base)})


class PublicOperation(Operation):
    """An operation that needs no credential: publishes `security: []`, overriding the
    document-wide bearer requirement (Litestar drops an empty list)."""

    def to_schema(self) -> dict[str, Any]:
        return {**super().to_schema(), "security": []}


class PublishableOperation(Operation):
    """An operation a publishable key may call (from its allowed origins, with CORS): says so
    in the contract as `x-publishable-key: true`, for partners and for the fuzzer."""

    def to_schema(self) -> dict[str, Any]:
        return {**super().to_schema(), "x-publishable-key": True}


def operation_id(route_handler: Any, http_method: Any, path_components: Any) -> str:
    """`create_supplier` → `createSupplier`: the handler's name is the operation's name."""
    head, *rest = route_handler.handler_name.split("_")
    return head + "".join(word.title() for word in rest)


def _oauth2_scheme() -> SecurityScheme:
    """OAuth 2.0 access tokens (gateway.oauth), sent as `Authorization: Bearer`; each operation
    lists the scope it needs. Metadata: `/.well-known/oauth-authorization-server` (RFC 8414)."""
    from gateway.oauth.scopes import SCOPE_DESCRIPTIONS

    scopes = dict(SCOPE_DESCRIPTIONS)
    token_url = "/oauth/token"  # noqa: S105 - a path, not a password
    return SecurityScheme(
        type="oauth2",
        description="OAuth 2.0 access tokens (RFC 9068 JWTs). PKCE S256 is required for the authorization "
        "code flow; refresh tokens rotate on every use. `write:` scopes imply `read:`.",
        flows=OAuthFlows(
            client_credentials=OAuthFlow(token_url=token_url, scopes=scopes),
            authorization_code=OAuthFlow(
                authorization_url="/oauth/authorize", token_url=token_url, refresh_url=token_url, scopes=scopes
            ),
        ),
    )


#: The contract's table of contents: every operation's tag, in the order a partner meets them
#: (tests/test_contract.py holds this list equal to the tags the operations use).
TAGS: tuple[tuple[str, str], ...] = (
    ("health", "Liveness and readiness of the gateway, for load balancers and orchestrators. No credential."),
    (
        "suppliers",
        "The tenant's suppliers: who holds the stock and fulfils. Operator keys create them; a supplier's key sees itself.",
    ),
    (
        "locations",
        "A supplier's stores, warehouses, kitchens and pickup points: where stock is, what area each serves, when it is open.",
    ),
    ("catalogue", "Products and their variants (SKUs) as suppliers describe them, one at a time or in batches."),
    ("offers", "What a supplier sells a SKU for (wholesale price, minimum retail price)."),
    (
        "inventory",
        "The stock ledger: set counted levels and adjust them in batches (with sequences, so a stale sync cannot overwrite a newer one), reservations and transfers. Every change is a movement.",
    ),
    ("channels", "Sales channels (shops, apps, marketplaces) that sell the suppliers' stock to consumers."),
    ("listings", "What a channel sells, at the channel's own price."),
    (
        "routing",
        "The tenant's routing policy: the rules that choose the locations of an order, acceptance deadlines, take rate, quote lifetime.",
    ),
    (
        "orders",
        "Quotes (price, route and hold stock for minutes) and orders (placed from a quote, a cart or lines); cancel, return, erase the customer's data.",
    ),
    (
        "fulfilment",
        "Fulfilment orders: each location's share of an order, accepted, picked, shipped or handed over at pickup by the supplier.",
    ),
    (
        "statements",
        "Each party's money over a period of days: balances, one line per order line, fee and reversal, and a CSV export.",
    ),
    ("insight", "Coverage maps, demand and scorecards: where SKUs can be promised and how suppliers perform."),
    (
        "storefront",
        "For browsers: publishable keys (`pk_…`) bound to origins read products and hold carts; the embeddable widget.",
    ),
    ("events", "The tenant's event feed: every change as an event, read with a cursor."),
    (
        "webhooks",
        "Webhook endpoints: events delivered as Standard Webhooks (signed), with retries, attempts, redelivery and secret rotation.",
    ),
    ("api-keys", "Secret and publishable keys for the operator, suppliers and channels; shown once, revocable."),
    ("oauth", "OAuth 2.0 clients of partner apps, their authorizations, and the authorization server's endpoints."),
    (
        "users",
        "People of the operator, suppliers and channels who sign in to authorize partner apps (OAuth authorization code flow).",
    ),
)

#: Where to send requests: relative to the document (a gateway serves its own contract at
#: `/openapi.json`), or a gateway run locally with `gateway serve`'s defaults.
SERVERS = (
    Server(url="/", description="The gateway that served this document"),
    Server(url="http://127.0.0.1:8000", description="A gateway on your machine (`gateway serve`)"),
)


def openapi_config(version: str) -> OpenAPIConfig:
    return GatewayOpenAPIConfig(
        servers=list(SERVERS),
        tags=[Tag(name=name, description=description) for name, description in TAGS],
        license=License(name="Apache 2.0", identifier="Apache-2.0"),
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
                ),
                "oauth2": _oauth2_scheme(),
            }
        ),
        security=[{"bearerAuth": []}],
        use_handler_docstrings=True,
        create_examples=False,
        operation_id_creator=operation_id,
    )


def is_strict(struct_type: type[msgspec.Struct]) -> bool:
    return bool(struct_type.__struct_config__.forbid_unknown_fields)
