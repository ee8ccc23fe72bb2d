from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, patch, post
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from gateway.http.fields import StatusChange
from gateway.http.idempotency import IdempotencyKey
from gateway.http.pagination import DEFAULT_LIMIT, Limit, after_param, make_page
from gateway.http.problems import responses
from gateway.ids import pattern
from gateway.tenancy.auth import principal_of
from gateway.tenancy.schemas import OWNER_ID_PATTERN, OwnerId
from gateway.users import services
from gateway.users.schemas import EMAIL_PATTERN, UserCreate, UserOut, UserPage, UserUpdate

UserId = Annotated[str, PathParameter(pattern=pattern("usr"))]


class UserController(Controller):
    path = "/v1/users"
    tags = ["users"]
    opt = {"scope_area": "credentials"}

    @post(responses=responses(404, 409, 413, 422), summary="Create a user")
    async def create_user(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[UserCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> UserOut:
        """A person of the operator, a supplier or a channel, who can log in at `/oauth/authorize`
        to let an app act for their party. The email is unique in the tenant (409 `email-taken`);
        the password is kept only as an Argon2id hash and never returned. The operator creates
        users for anyone in the tenant, a supplier or channel only for itself."""
        return await services.create(principal_of(request), data)

    @get(responses=responses(), summary="List users")
    async def list_users(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("usr") = None,  # type: ignore[valid-type]
        owner_type: FromQuery[Literal["operator", "supplier", "channel"] | None] = None,
        owner_id: Annotated[OwnerId | None, QueryParameter(name="owner_id", pattern=OWNER_ID_PATTERN)] = None,
        status: FromQuery[Literal["active", "inactive"] | None] = None,
        email: Annotated[str | None, QueryParameter(name="email", pattern=EMAIL_PATTERN, max_length=254)] = None,
    ) -> UserPage:
        rows = await services.list_(principal_of(request), limit, after, owner_type, owner_id, status, email)
        return make_page(UserPage, rows, limit, services.to_out)

    @get("/{user_id:str}", responses=responses(404), summary="Retrieve a user")
    async def get_user(self, request: Request[Any, Any, Any], user_id: UserId) -> UserOut:
        return await services.get(principal_of(request), user_id)

    @patch("/{user_id:str}", responses=responses(404, 409, 413), summary="Update a user")
    async def update_user(
        self, request: Request[Any, Any, Any], user_id: UserId, data: JSONBody[UserUpdate]
    ) -> UserOut:
        """Change the email, name, language or password; a stale `version` is a 409."""
        return await services.update(principal_of(request), user_id, data)

    @post(
        "/{user_id:str}/deactivate",
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Deactivate a user",
    )
    async def deactivate_user(
        self,
        request: Request[Any, Any, Any],
        user_id: UserId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> UserOut:
        """The user can no longer log in, and every token an app holds for them stops working."""
        return await services.set_status(principal_of(request), user_id, data.version if data else None, "inactive")

    @post(
        "/{user_id:str}/activate",
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Reactivate a user",
    )
    async def activate_user(
        self,
        request: Request[Any, Any, Any],
        user_id: UserId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> UserOut:
        return await services.set_status(principal_of(request), user_id, data.version if data else None, "active")


ROUTES: list[Any] = [UserController]
