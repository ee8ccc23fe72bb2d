"""HTTP for the offers area."""

from __future__ import annotations

from typing import Any

#: the controllers of this area, mounted by suppliers.routes
ROUTES: list[Any] = []
