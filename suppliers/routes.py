"""Every supplier-side controller, registered with the kernel by suppliers.component."""

from __future__ import annotations

from typing import Any

# the areas' background jobs register themselves with gateway.background on import
import suppliers.fulfilment.jobs
import suppliers.inventory.jobs  # noqa: F401
from suppliers.catalogue.controllers import ROUTES as CATALOGUE
from suppliers.controllers import SupplierController
from suppliers.fulfilment.controllers import ROUTES as FULFILMENT
from suppliers.inventory.controllers import ROUTES as INVENTORY
from suppliers.locations.controllers import ROUTES as LOCATIONS
from suppliers.offers.controllers import ROUTES as OFFERS

ROUTES: list[Any] = [SupplierController, *CATALOGUE, *LOCATIONS, *OFFERS, *INVENTORY, *FULFILMENT]
