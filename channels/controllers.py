from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.params import FromQuery, JSONBody, PathParameter

from channels.schemas import ChannelCreate, ChannelOut, ChannelPage, ChannelUpdate
from channels.services import channels
from gateway.http.fields import StatusChange, changes
from gateway.http.idempotency import IdempotencyKey
from gateway.http.pagination import DEFAULT_LIMIT, Limit, after_param, make_page
from gateway.http.problems import responses
from gateway.ids import pattern
from gateway.tenancy.auth import operator_only, principal_of

ChannelId = Annotated[str, PathParameter(pattern=pattern("chn"))]


class ChannelController(Controller):
    path = "/v1/channels"
    opt = {"scope_area": "parties"}  # OAuth scopes read:/write:parties (gateway.oauth.scopes)
    tags = ["channels"]

    @post(guards=[operator_only], responses=responses(409, 413, 422), summary="Create a channel")
    async def create_channel(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ChannelCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> ChannelOut:
        return await channels.create(principal_of(request), msgspec.structs.asdict(data))

    @get(responses=responses(), summary="List channels")
    async def list_channels(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("chn") = None,  # type: ignore[valid-type]
        status: FromQuery[Literal["active", "inactive"] | None] = None,
    ) -> ChannelPage:
        """The operator sees every channel of the tenant; a channel sees itself."""
        rows = await channels.list(principal_of(request), limit, after, status)
        return make_page(ChannelPage, rows, limit, channels.to_out)

    @get("/{channel_id:str}", responses=responses(404), summary="Retrieve a channel")
    async def get_channel(self, request: Request[Any, Any, Any], channel_id: ChannelId) -> ChannelOut:
        return await channels.get(principal_of(request), channel_id)

    @patch("/{channel_id:str}", guards=[operator_only], responses=responses(404, 409, 413), summary="Update a channel")
    async def update_channel(
        self, request: Request[Any, Any, Any], channel_id: ChannelId, data: JSONBody[ChannelUpdate]
    ) -> ChannelOut:
        return await channels.update(principal_of(request), channel_id, data.version, changes(data))

    @post(
        "/{channel_id:str}/deactivate",
        guards=[operator_only],
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Deactivate a channel",
    )
    async def deactivate_channel(
        self,
        request: Request[Any, Any, Any],
        channel_id: ChannelId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> ChannelOut:
        """An inactive channel's keys stop working and it can place no orders."""
        return await channels.set_status(principal_of(request), channel_id, data.version if data else None, "inactive")

    @post(
        "/{channel_id:str}/activate",
        guards=[operator_only],
        status_code=200,
        responses=responses(404, 409, 413, 422),
        summary="Reactivate a channel",
    )
    async def activate_channel(
        self,
        request: Request[Any, Any, Any],
        channel_id: ChannelId,
        data: JSONBody[StatusChange | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> ChannelOut:
        return await channels.set_status(principal_of(request), channel_id, data.version if data else None, "active")
