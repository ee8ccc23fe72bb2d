from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, patch, post
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from gateway.http.fields import StatusChange
from gateway.http.idempotency import IdempotencyKey
from gateway.http.pagination import DEFAULT_LIMIT, Limit, after_param, make_page
from gateway.http.problems import responses
from gateway.ids import pattern
from gateway.tenancy import services
from gateway.tenancy.auth import principal_of
from gateway.tenancy.schemas import (
    OWNER_ID_PATTERN,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    ApiKeyPage,
    ApiKeyUpdate,
    OwnerId,
)


def _allow_localhost(request: Request[Any, Any, Any]) -> bool:
    """Whether development origins (`http://localhost:*`) may be named (the app's setting)."""
    return bool(getattr(request.app.state, "storefront_allow_localhost", False))


KeyId = Annotated[str, PathParameter(pattern=pattern("key"))]


class ApiKeyController(Controller):
    path = "/v1/api-keys"
    opt = {"scope_area": "credentials"}  # OAuth scopes read:/write:credentials (gateway.oauth.scopes)
    tags = ["api-keys"]

    @post(responses=responses(404, 409, 413, 422), summary="Create an API key")
    async def create_api_key(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ApiKeyCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> ApiKeyCreated:
        """The whole key is in this response only; we keep just its hash. The operator creates
        keys for anyone in the tenant, a supplier or channel only for itself."""
        return await services.create(principal_of(request), data, _allow_localhost(request))

    @get(responses=responses(), summary="List API keys")
    async def list_api_keys(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("key") = None,  # type: ignore[valid-type]
        owner_type: FromQuery[Literal["operator", "supplier", "channel"] | None] = None,
        owner_id: Annotated[OwnerId | None, QueryParameter(name="owner_id", pattern=OWNER_ID_PATTERN)] = None,
        status: FromQuery[Literal["active", "revoked"] | None] = None,
    ) -> ApiKeyPage:
        rows = await services.list_(principal_of(request), limit, after, owner_type, owner_id, status)
        return make_page(ApiKeyPage, rows, limit, services.to_out)

    @get("/{key_id:str}", responses=responses(404), summary="Retrieve an API key")
    async def get_api_key(self, request: Request[Any, Any, Any], key_id: KeyId) -> ApiKeyOut:
        return await services.get(principal_of(request), key_id)

    @patch("/{key_id:str}", responses=responses(404, 409, 413), summary="Update an API key")
    async def update_api_key(
        self, request: Request[Any, Any, Any], key_id: KeyId, data: JSONBody[ApiKeyUpdate]
    ) -> ApiKeyOut:
        return await services.update(principal_of(request), key_id, data, _allow_localhost(request))

    @post("/{key_id:str}/revoke", status_code=200, responses=responses(404, 409, 413, 422), summary="Revoke an API key")
    async def revoke_api_key(
        self,
        request: Request[Any, Any, Any],
        key_id: KeyId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> ApiKeyOut:
        return await services.revoke(principal_of(request), key_id, data.version if data else None)
