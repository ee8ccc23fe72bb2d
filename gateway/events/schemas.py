from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from gateway.http.pagination import Page


class EventOut(msgspec.Struct, kw_only=True):
    id: str
    type: str
    created_at: datetime
    #: the resource as it was after the change
    data: dict[str, Any]


class EventPage(Page[EventOut]):
    """A page of events."""
