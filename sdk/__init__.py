"""Python client of the commerce gateway, for suppliers and channels (DESIGN §14).

    from sdk import Gateway

    with Gateway(api_key="sk_…", base_url="https://gateway.example") as client:
        report = client.inventory.sync([{"location_id": "loc_…", "sku": "MILK-1L", "on_hand": 40}])
        print(report.applied, report.unchanged, report.refused)

`AsyncGateway` is the same API with `await`. See docs/sdk.md.
"""

from sdk._async_client import AsyncGateway
from sdk._core import RetryPolicy, parse_retry_after
from sdk._sync_client import Gateway
from sdk.errors import (
    APIError,
    AuthenticationFailed,
    BadRequest,
    Conflict,
    ConnectionFailed,
    GatewayError,
    NotFound,
    OutOfStock,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    Unprocessable,
    ValidationFailed,
    WebhookVerificationError,
)
from sdk.models import (
    AdjustItem,
    BatchResult,
    Customer,
    Destination,
    Event,
    FulfilmentOrder,
    Level,
    Line,
    Listing,
    Location,
    Money,
    Movement,
    Offer,
    Order,
    Page,
    Quote,
    SetItem,
    Supplier,
    WebhookEndpoint,
)
from sdk.stock import BatchReport, RowResult, SyncReport, read_rows
from sdk.webhooks import verify_webhook

__all__ = [
    "APIError",
    "AdjustItem",
    "AsyncGateway",
    "AuthenticationFailed",
    "BadRequest",
    "BatchReport",
    "BatchResult",
    "Conflict",
    "ConnectionFailed",
    "Customer",
    "Destination",
    "Event",
    "FulfilmentOrder",
    "Gateway",
    "GatewayError",
    "Level",
    "Line",
    "Listing",
    "Location",
    "Money",
    "Movement",
    "NotFound",
    "Offer",
    "Order",
    "OutOfStock",
    "Page",
    "PayloadTooLarge",
    "PermissionDenied",
    "Quote",
    "RateLimited",
    "RetryPolicy",
    "RowResult",
    "ServerError",
    "SetItem",
    "Supplier",
    "SyncReport",
    "Unprocessable",
    "ValidationFailed",
    "WebhookEndpoint",
    "WebhookVerificationError",
    "parse_retry_after",
    "read_rows",
    "verify_webhook",
]
