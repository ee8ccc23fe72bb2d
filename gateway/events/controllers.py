from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import PathParameter, QueryParameter

from gateway.events import services
from gateway.events.schemas import EventOut, EventPage
from gateway.events.services import to_event
from gateway.http.pagination import DEFAULT_LIMIT, Limit, after_param, make_page
from gateway.http.problems import not_found, responses
from gateway.ids import pattern
from gateway.tenancy.auth import principal_of

EventId = Annotated[str, PathParameter(pattern=pattern("evt"))]
EventType = Annotated[str, msgspec.Meta(pattern=r"^[a-z_]+(\.[a-z_]+)+$", max_length=64)]


class EventController(Controller):
    path = "/v1/events"
    opt = {"scope_area": "events"}  # OAuth scopes read:/write:events (gateway.oauth.scopes)
    tags = ["events"]

    @get(responses=responses(), summary="List events")
    async def list_events(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("evt") = None,  # type: ignore[valid-type]
        type: Annotated[list[EventType] | None, QueryParameter(name="type", max_items=20)] = None,
    ) -> EventPage:
        """The feed of state changes in commit order. The operator sees the whole tenant; a
        supplier or channel sees the events that concern it. Poll with `after` set to the last
        `next_cursor` (or the last id seen) to miss nothing."""
        rows = await services.feed(principal_of(request), after, limit, type)
        return make_page(EventPage, rows, limit, to_event)

    @get("/{event_id:str}", responses=responses(404), summary="Retrieve an event")
    async def get_event(self, request: Request[Any, Any, Any], event_id: EventId) -> EventOut:
        row = await services.get_event(principal_of(request), event_id)
        if row is None:
            raise not_found("event", event_id)
        return to_event(row)
