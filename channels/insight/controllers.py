"""HTTP for insight: perfect order rates, coverage maps, replenishment advice."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get
from litestar.params import QueryParameter

from channels.insight import coverage, replenishment, services
from channels.insight.schemas import CoverageMap, PerfectOrderPage, ReplenishmentOut
from channels.statements.periods import From, To, period, unusable
from gateway.http.fields import SKU_PATTERN, Sku
from gateway.http.pagination import DEFAULT_LIMIT, Limit
from gateway.http.problems import invalid, not_found, responses
from gateway.ids import pattern
from gateway.storage import db
from gateway.tenancy.auth import operator_only, operator_or_channel, operator_or_supplier, principal_of
from gateway.tenancy.principal import Principal


class PerfectOrderController(Controller):
    path = "/v1/insight/perfect-orders"
    tags = ["insight"]
    opt = {"scope_area": "statements"}  # OAuth scopes read:/write:statements (gateway.oauth.scopes)

    @get(guards=[operator_or_supplier], responses=responses(409), summary="Perfect order rate")
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


Skus = Annotated[
    list[Sku],
    QueryParameter(
        name="sku",
        min_items=1,
        max_items=20,
        description="The SKU to map; repeat it for a basket (every SKU in one order).",
    ),
]
Qty = Annotated[int, QueryParameter(name="qty", ge=1, le=1000, description="Units of each SKU (default 1).")]
ChannelParam = Annotated[
    str | None,
    QueryParameter(
        name="channel_id",
        pattern=pattern("chn"),
        description="Price the basket at this channel's listings (a channel always uses its own); "
        "without one the operator maps every active offer.",
    ),
]
Resolution = Annotated[
    int | None,
    QueryParameter(name="resolution", ge=5, le=10, description="H3 resolution (default: the finest that fits)."),
]
BBoxParam = Annotated[
    str | None,
    QueryParameter(
        name="bbox",
        pattern=r"^-?[0-9]{1,3}(\.[0-9]+)?(,-?[0-9]{1,3}(\.[0-9]+)?){3}$",
        description="west,south,east,north in degrees (default: the reach of the tenant's stores, "
        "kitchens and forward warehouses).",
    ),
]


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    west, south, east, north = (float(part) for part in value.split(","))
    if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
        raise unusable("bbox", "west,south,east,north with south < north and west < east, in range")
    return south, west, north, east


async def _channel(principal: Principal, channel_id: str | None) -> str | None:
    if principal.type == "channel":
        if channel_id not in (None, principal.owner_id):
            raise not_found("channel", str(channel_id))
        return principal.owner_id
    if channel_id is not None:
        rows = await db().fetch(
            "SELECT id FROM channels WHERE tenant_id = ? AND id = ?", principal.tenant_id, channel_id
        )
        if not rows:
            raise not_found("channel", channel_id)
    return channel_id


async def _map(
    request: Request[Any, Any, Any],
    sku: list[str],
    qty: int,
    channel_id: str | None,
    resolution: int | None,
    bbox: str | None,
) -> tuple[CoverageMap, list[Any]]:
    principal = principal_of(request)
    for position, value in enumerate(sku):
        if not re.match(SKU_PATTERN, value):
            raise invalid(f"sku[{position}]", "not a SKU", "query")
    return await coverage.coverage_map(
        principal.tenant_id, sku, qty, await _channel(principal, channel_id), resolution, _bbox(bbox)
    )


class CoverageController(Controller):
    path = "/v1/insight"
    tags = ["insight"]
    opt = {"scope_area": "statements"}  # OAuth scopes read:/write:statements (gateway.oauth.scopes)

    @get("/coverage", guards=[operator_or_channel], responses=responses(404, 409), summary="Coverage map (GeoJSON)")
    async def get_coverage(
        self,
        request: Request[Any, Any, Any],
        sku: Skus,
        qty: Qty = 1,
        channel_id: ChannelParam = None,
        resolution: Resolution = None,
        bbox: BBoxParam = None,
    ) -> CoverageMap:
        """The H3 cells of the tenant's area where the basket can be promised now, each with the
        promise an order to the cell's centre would get: within 30 minutes, 4 hours, or next day,
        decided by the very routing an order uses. A GeoJSON FeatureCollection (RFC 7946)."""
        made, _ = await _map(request, sku, qty, channel_id, resolution, bbox)
        return made

    @get(
        "/coverage.svg",
        guards=[operator_or_channel],
        responses=responses(404, 409),
        media_type="image/svg+xml",
        summary="Coverage map (picture)",
    )
    async def get_coverage_picture(
        self,
        request: Request[Any, Any, Any],
        sku: Skus,
        qty: Qty = 1,
        channel_id: ChannelParam = None,
        resolution: Resolution = None,
        bbox: BBoxParam = None,
    ) -> Response[str]:
        """The same map as a picture to open in a browser: cells coloured by promise, locations
        holding stock as dots."""
        made, markers = await _map(request, sku, qty, channel_id, resolution, bbox)
        return Response(content=coverage.picture(made, markers), media_type="image/svg+xml")


class ReplenishmentController(Controller):
    path = "/v1/insight/replenishment"
    tags = ["insight"]
    opt = {"scope_area": "statements"}  # OAuth scopes read:/write:statements (gateway.oauth.scopes)

    @get(guards=[operator_only], responses=responses(409), summary="Replenishment advice")
    async def get_replenishment(
        self,
        request: Request[Any, Any, Any],
        from_: From = None,
        to: To = None,
        sku: Annotated[
            Sku | None, QueryParameter(name="sku", pattern=SKU_PATTERN, max_length=64, description="Only this SKU.")
        ] = None,
        resolution: Annotated[
            int, QueryParameter(name="resolution", ge=5, le=10, description="H3 resolution of the demand cells.")
        ] = 8,
    ) -> ReplenishmentOut:
        """Demand by H3 cell over the period (units ordered, of which only a next-day location
        could serve, and units refused for lack of stock) against the units the stores and
        forward warehouses reaching each cell hold now; and the transfers from central
        warehouses that would turn that demand into near or mid promises. Each suggestion
        carries `transfer`, the body to POST to /v1/inventory/transfers as it is."""
        first, last = period(from_, to)
        return await replenishment.advice(principal_of(request).tenant_id, first, last, resolution, sku)


ROUTES: list[Any] = [PerfectOrderController, CoverageController, ReplenishmentController]
