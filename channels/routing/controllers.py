"""HTTP for the tenant's routing policy (operator only)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.params import JSONBody

from channels.routing import services
from channels.routing.schemas import PolicyIn, PolicyOut
from gateway.http.problems import responses
from gateway.tenancy.auth import operator_only, principal_of


class RoutingPolicyController(Controller):
    path = "/v1/routing-policy"
    opt = {"scope_area": "orders"}  # OAuth scopes read:/write:orders (gateway.oauth.scopes)
    tags = ["routing"]

    @get(guards=[operator_only], responses=responses(), summary="The tenant's routing policy")
    async def get_routing_policy(self, request: Request[Any, Any, Any]) -> PolicyOut:
        """How orders are routed and priced: the rules in order, acceptance deadline, take rate,
        quote lifetime, quantity splitting, delivery fees. Version 0 means the defaults."""
        return msgspec.convert(await services.policy_out(principal_of(request).tenant_id), PolicyOut)

    @put(guards=[operator_only], responses=responses(404, 409, 413), summary="Replace the routing policy")
    async def put_routing_policy(self, request: Request[Any, Any, Any], data: JSONBody[PolicyIn]) -> PolicyOut:
        """Fields left out take their defaults. Send the `version` read to avoid overwriting a
        change made meanwhile (409 when stale)."""
        values = msgspec.structs.asdict(data)
        version = values.pop("version")
        values["delivery_fees"] = msgspec.structs.asdict(data.delivery_fees)
        return msgspec.convert(await services.put_policy(principal_of(request).tenant_id, values, version), PolicyOut)


ROUTES: list[Any] = [RoutingPolicyController]
