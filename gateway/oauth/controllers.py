"""`/v1/oauth-clients` and `/v1/authorizations`: registering apps, and the consents users gave them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, patch, post
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from gateway.http.fields import StatusChange
from gateway.http.idempotency import IdempotencyKey
from gateway.http.pagination import DEFAULT_LIMIT, Limit, after_param, make_page
from gateway.http.problems import responses
from gateway.ids import pattern
from gateway.oauth import authorizations, clients
from gateway.oauth.schemas import (
    AuthorizationOut,
    AuthorizationPage,
    OAuthClientCreate,
    OAuthClientCreated,
    OAuthClientOut,
    OAuthClientPage,
    OAuthClientUpdate,
)
from gateway.tenancy.auth import principal_of
from gateway.tenancy.schemas import OWNER_ID_PATTERN, OwnerId

ClientId = Annotated[str, PathParameter(pattern=pattern("cli"))]
AuthorizationId = Annotated[str, PathParameter(pattern=pattern("authz"))]


class OAuthClientController(Controller):
    path = "/v1/oauth-clients"
    tags = ["oauth"]
    opt = {"scope_area": "credentials"}

    @post(responses=responses(404, 409, 413, 422), summary="Register an OAuth client")
    async def create_oauth_client(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[OAuthClientCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> OAuthClientCreated:
        """An app that gets access tokens at `/oauth/token`. A confidential client's
        `client_secret` is in this response only; a public client has none and must use the
        authorization code grant with PKCE. Redirect URIs are matched exactly and must be https
        (http only on a loopback address)."""
        return await clients.create(principal_of(request), data)

    @get(responses=responses(), summary="List OAuth clients")
    async def list_oauth_clients(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("cli") = None,  # type: ignore[valid-type]
        owner_type: FromQuery[Literal["operator", "supplier", "channel"] | None] = None,
        owner_id: Annotated[OwnerId | None, QueryParameter(name="owner_id", pattern=OWNER_ID_PATTERN)] = None,
        status: FromQuery[Literal["active", "inactive"] | None] = None,
    ) -> OAuthClientPage:
        rows = await clients.list_(principal_of(request), limit, after, owner_type, owner_id, status)
        return make_page(OAuthClientPage, rows, limit, clients.to_out)

    @get("/{client_id:str}", responses=responses(404), summary="Retrieve an OAuth client")
    async def get_oauth_client(self, request: Request[Any, Any, Any], client_id: ClientId) -> OAuthClientOut:
        return await clients.get(principal_of(request), client_id)

    @patch("/{client_id:str}", responses=responses(404, 409, 413), summary="Update an OAuth client")
    async def update_oauth_client(
        self, request: Request[Any, Any, Any], client_id: ClientId, data: JSONBody[OAuthClientUpdate]
    ) -> OAuthClientOut:
        """Tokens already issued keep the scopes they were issued with."""
        return await clients.update(principal_of(request), client_id, data)

    @post(
        "/{client_id:str}/rotate-secret",
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Rotate an OAuth client's secret",
    )
    async def rotate_oauth_client_secret(
        self,
        request: Request[Any, Any, Any],
        client_id: ClientId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> OAuthClientCreated:
        """A new secret, in this response only. The old secret stops working now, and so do
        access tokens issued before; refresh tokens keep working with the new secret."""
        return await clients.rotate_secret(principal_of(request), client_id, data.version if data else None)

    @post(
        "/{client_id:str}/deactivate",
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Deactivate an OAuth client",
    )
    async def deactivate_oauth_client(
        self,
        request: Request[Any, Any, Any],
        client_id: ClientId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> OAuthClientOut:
        """Every token of the client stops working at once, refresh tokens included."""
        return await clients.set_status(principal_of(request), client_id, data.version if data else None, "inactive")

    @post(
        "/{client_id:str}/activate",
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Reactivate an OAuth client",
    )
    async def activate_oauth_client(
        self,
        request: Request[Any, Any, Any],
        client_id: ClientId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> OAuthClientOut:
        return await clients.set_status(principal_of(request), client_id, data.version if data else None, "active")


class AuthorizationController(Controller):
    path = "/v1/authorizations"
    tags = ["oauth"]
    opt = {"scope_area": "credentials"}

    @get(responses=responses(), summary="List authorised apps")
    async def list_authorizations(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("authz") = None,  # type: ignore[valid-type]
        user_id: Annotated[str | None, QueryParameter(name="user_id", pattern=pattern("usr"))] = None,
        client_id: Annotated[str | None, QueryParameter(name="client_id", pattern=pattern("cli"))] = None,
        status: FromQuery[Literal["active", "revoked"] | None] = None,
    ) -> AuthorizationPage:
        """The consents given by the party's users (the operator: every consent in the tenant)."""
        rows = await authorizations.list_(principal_of(request), limit, after, user_id, client_id, status)
        return make_page(AuthorizationPage, rows, limit, authorizations.to_out)

    @get("/{authorization_id:str}", responses=responses(404), summary="Retrieve an authorised app")
    async def get_authorization(
        self, request: Request[Any, Any, Any], authorization_id: AuthorizationId
    ) -> AuthorizationOut:
        return await authorizations.get(principal_of(request), authorization_id)

    @post(
        "/{authorization_id:str}/revoke",
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Revoke an authorised app",
    )
    async def revoke_authorization(
        self,
        request: Request[Any, Any, Any],
        authorization_id: AuthorizationId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> AuthorizationOut:
        """The app loses this consent: its refresh tokens and access tokens stop working at once."""
        return await authorizations.revoke(principal_of(request), authorization_id, data.version if data else None)


ROUTES: list[Any] = [OAuthClientController, AuthorizationController]
