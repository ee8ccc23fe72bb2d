"""HTTP for insight: perfect order rates, coverage maps, replenishment advice."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get
from litestar.params import QueryParameter

from channels.insight import services
from channels.insight.schemas import PerfectOrderPage
from channels.statements.controllers import From, To
from channels.statements.services import period
from gateway.http.pagination import DEFAULT_LIMIT, Limit
from gateway.http.problems import responses
from gateway.ids import pattern
from gateway.tenancy.auth import operator_or_supplier, principal_of


class PerfectOrderController(Controller):
    path = "/v1/insight/perfect-orders"
    tags = ["insight"]

    @get(guards=[operator_or_supplier], responses=responses(), summary="Perfect order rate")
    async def list_perfect_orders(
        self,
        request: Request[Any, Any, Any],
        group_by: Annotated[
            Literal["supplier", "location"],
            QueryParameter(name="group_by", description="Per supplier or per location."),
        ] = "supplier",
        from_: From = None,
        to: To = None,
        supplier_id: Annotated[str | None, QueryParameter(name="supplier_id", pattern=pattern("sup"))] = None,
        location_id: Annotated[str | None, QueryParameter(name="location_id", pattern=pattern("loc"))] = None,
        limit: Limit = DEFAULT_LIMIT,
        after: Annotated[
            str | None,
            QueryParameter(
                name="after", pattern=r"^(sup|loc)_[0-9a-hjkmnp-tv-z]{26}$", description="Ids after this one."
            ),
        ] = None,
    ) -> PerfectOrderPage:
        """Of the fulfilment orders routed in the period (by UTC day) whose outcome is known, the
        share that were perfect: accepted before the deadline, delivered or picked up by the
        promised time, complete, and not cancelled or returned; each part on its own, and the
        trend by day. Open ones are counted apart. A supplier sees its own."""
        principal = principal_of(request)
        first, last = period(from_, to)
        items, more = await services.perfect_orders(
            principal, group_by, first, last, supplier_id, location_id, after, limit
        )
        cursor = (items[-1].location_id or items[-1].supplier_id) if more else None
        return PerfectOrderPage(data=items, has_more=more, next_cursor=cursor)


ROUTES: list[Any] = [PerfectOrderController]
