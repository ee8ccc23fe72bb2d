"""The channel side as a component of the gateway (`gateway.components`): its tables, its
routes (whose modules register the areas' background jobs), its demo steps and CLI commands,
and the personal data it encrypts."""

from __future__ import annotations

import channels.cli  # noqa: F401 - `gateway statements check`, `gateway coverage`
from channels import demo
from channels.controllers import ChannelController
from channels.insight import demo as insight_demo
from channels.insight.controllers import ROUTES as INSIGHT_ROUTES
from channels.listings import demo as listings_demo
from channels.listings.controllers import ROUTES as LISTING_ROUTES
from channels.orders import demo as orders_demo
from channels.orders.controllers import ROUTES as ORDER_ROUTES
from channels.routing.controllers import ROUTES as ROUTING_ROUTES
from channels.statements.controllers import ROUTES as STATEMENT_ROUTES
from channels.storefront import demo as storefront_demo
from channels.storefront.controllers import ROUTES as STOREFRONT_ROUTES
from gateway import components, crypto
from gateway import demo as gateway_demo

components.piccolo_apps(
    [
        "channels.piccolo_app",
        "channels.listings.piccolo_app",
        "channels.routing.piccolo_app",
        "channels.orders.piccolo_app",
        "channels.statements.piccolo_app",
        "channels.insight.piccolo_app",
        "channels.storefront.piccolo_app",
    ]
)
components.routes(
    [
        ChannelController,
        *LISTING_ROUTES,
        *ORDER_ROUTES,
        *ROUTING_ROUTES,
        *STATEMENT_ROUTES,
        *INSIGHT_ROUTES,
        *STOREFRONT_ROUTES,
    ]
)

# the customer's name and contact on an order (channels.orders)
crypto.encrypted_column("orders", "customer")

# `gateway demo`, between the supplier side's steps (suppliers.component)
gateway_demo.step("channel", 20, demo.seed)
gateway_demo.step("listings", 60, listings_demo.seed)
gateway_demo.step("orders", 80, orders_demo.seed)
gateway_demo.step("order lines", 81, demo.order_lines)
gateway_demo.step("insight", 85, insight_demo.seed)
gateway_demo.step("insight lines", 86, demo.insight_lines)
gateway_demo.step("storefront", 88, storefront_demo.seed)
