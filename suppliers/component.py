"""The supplier side as a component of the gateway (`gateway.components`): its tables, its
routes (whose modules register the areas' background jobs), its demo steps and CLI commands,
and the personal data it encrypts."""

from __future__ import annotations

import suppliers.inventory.cli  # noqa: F401 - `gateway inventory check`
from gateway import components, crypto
from gateway import demo as gateway_demo
from suppliers import demo
from suppliers.catalogue import demo as catalogue_demo
from suppliers.inventory import demo as inventory_demo
from suppliers.locations import demo as locations_demo
from suppliers.offers import demo as offers_demo
from suppliers.routes import ROUTES

components.piccolo_apps(
    [
        "suppliers.piccolo_app",
        "suppliers.catalogue.piccolo_app",
        "suppliers.locations.piccolo_app",
        "suppliers.offers.piccolo_app",
        "suppliers.inventory.piccolo_app",
        "suppliers.fulfilment.piccolo_app",
    ]
)
components.routes(ROUTES)

# the code a courier shows at pickup (suppliers.fulfilment)
crypto.encrypted_column("fulfilment_orders", "pickup_code")

# `gateway demo`, with the channel side's steps (channels.component) in between
gateway_demo.step("suppliers", 10, demo.seed)
gateway_demo.step("catalogue", 30, catalogue_demo.seed)
gateway_demo.step("locations", 40, locations_demo.seed)
gateway_demo.step("offers", 50, offers_demo.seed)
gateway_demo.step("inventory", 70, inventory_demo.seed)
