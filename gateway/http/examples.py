"""Examples on the main operations of the contract, request and response: real answers of a
gateway (a tenant built with these very requests), ids and times as they came.

`gateway.http.openapi` puts them into the document by operationId; tests/test_contract.py
validates each one against its schema, so an example cannot drift from the contract.
"""

from __future__ import annotations

from typing import Any

#: one order as `POST /v1/orders` answered it and `GET /v1/orders/{id}` then showed it
_ORDER: dict[str, Any] = {
    "id": "ord_01m858qkcmd6vj7r2dve513egt",
    "channel_id": "chn_01m858qk6fd58e71wprchxerhx",
    "quote_id": "quo_01m858qkbcfpkqvaj75szpg9zf",
    "status": "pending",
    "mode": "delivery",
    "destination": {"lat": 30.264, "lng": 120.155},
    "pickup_point_id": None,
    "lines": [
        {
            "sku": "TEA-LJ-250",
            "qty": 2,
            "unit_price": {"amount": 8800, "currency": "CNY"},
            "amount": {"amount": 17600, "currency": "CNY"},
        }
    ],
    "subtotal": {"amount": 17600, "currency": "CNY"},
    "delivery_fee": {"amount": 0, "currency": "CNY"},
    "total": {"amount": 17600, "currency": "CNY"},
    "split": {
        "supplier_amount": {"amount": 12000, "currency": "CNY"},
        "channel_margin": {"amount": 4720, "currency": "CNY"},
        "platform_fee": {"amount": 880, "currency": "CNY"},
    },
    "customer": {
        "name": "Li Wei",
        "phone": "+86 138 0000 0000",
        "email": None,
        "address": "12 Shuguang Road, Hangzhou",
        "note": None,
    },
    "customer_erased": False,
    "reference": "PC-10023",
    "fulfilment_orders": [
        {
            "id": "ful_01m858qkcndwcy0c4cxgj2g1an",
            "order_id": "ord_01m858qkcmd6vj7r2dve513egt",
            "supplier_id": "sup_01m858qk3r6ha6jfmyva7edqwe",
            "location_id": "loc_01m858qk5qf5w0rk4e4a980t44",
            "mode": "delivery",
            "pickup_location_id": None,
            "status": "pending",
            "lines": [
                {
                    "sku": "TEA-LJ-250",
                    "qty": 2,
                    "unit_price": {"amount": 8800, "currency": "CNY"},
                    "wholesale_price": {"amount": 6000, "currency": "CNY"},
                }
            ],
            "delivery_fee": {"amount": 0, "currency": "CNY"},
            "tier": "near",
            "eta_minutes": 28,
            "distance_km": 0.801,
            "promised_at": "2026-11-23T23:01:48.058751Z",
            "accept_by": "2026-11-23T22:49:24.020439Z",
            "routing": {
                "rule": "only_candidate",
                "rules": ["fewest_shipments", "fastest_promise", "nearest", "reliability"],
                "distance_km": 0.801,
                "eta_minutes": 28,
                "tier": "near",
                "candidates_considered": 1,
            },
            "reason": None,
            "replaced_by": None,
            "attempt": 1,
            "destination": None,
            "customer": None,
            "pickup_code": None,
            "version": 1,
            "created_at": "2026-11-23T22:34:24.020439Z",
            "updated_at": "2026-11-23T22:34:24.020439Z",
            "accepted_at": None,
            "shipped_at": None,
            "finished_at": None,
        }
    ],
    "version": 1,
    "created_at": "2026-11-23T22:34:24.020439Z",
    "updated_at": "2026-11-23T22:34:24.020439Z",
}

#: operationId → {"request": (summary, body), "responses": {status: (summary, body)}}
EXAMPLES: dict[str, dict[str, Any]] = {
    "createSupplier": {
        "request": ("A supplier", {"name": "Harbour Grocers"}),
        "responses": {
            "201": (
                "The supplier, active",
                {
                    "id": "sup_01m858qk3r6ha6jfmyva7edqwe",
                    "name": "Harbour Grocers",
                    "status": "active",
                    "version": 1,
                    "created_at": "2026-11-23T22:34:23.736107Z",
                    "updated_at": "2026-11-23T22:34:23.736107Z",
                },
            )
        },
    },
    "createLocation": {
        "request": (
            "A store that delivers and has a pickup counter",
            {
                "supplier_id": "sup_01m858qk3r6ha6jfmyva7edqwe",
                "name": "Harbour store, West Lake",
                "kind": "store",
                "lat": 30.259,
                "lng": 120.149,
                "modes": ["delivery", "pickup"],
                "prep_minutes": 15,
                "service_radius_km": 8.0,
                "timezone": "Asia/Shanghai",
                "address": {"line1": "1 Beishan Road", "city": "Hangzhou", "country": "CN", "postal_code": "310007"},
            },
        ),
        "responses": {
            "201": (
                "The location, active",
                {
                    "id": "loc_01m858qk5qf5w0rk4e4a980t44",
                    "supplier_id": "sup_01m858qk3r6ha6jfmyva7edqwe",
                    "name": "Harbour store, West Lake",
                    "kind": "store",
                    "lat": 30.259,
                    "lng": 120.149,
                    "address": {
                        "line1": "1 Beishan Road",
                        "line2": None,
                        "city": "Hangzhou",
                        "region": None,
                        "postal_code": "310007",
                        "country": "CN",
                    },
                    "service_radius_km": 8.0,
                    "modes": ["delivery", "pickup"],
                    "prep_minutes": 15,
                    "opening_hours": {"mon": [], "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": []},
                    "timezone": "Asia/Shanghai",
                    "daily_capacity": None,
                    "status": "active",
                    "version": 1,
                    "created_at": "2026-11-23T22:34:23.799567Z",
                    "updated_at": "2026-11-23T22:34:23.799567Z",
                },
            )
        },
    },
    "createProduct": {
        "request": (
            "A product with one variant",
            {"title": "Longjing tea", "variants": [{"sku": "TEA-LJ-250", "title": "250 g"}]},
        ),
        "responses": {
            "201": (
                "The product",
                {
                    "id": "prod_01m858qk7s66fv3tb72e0c6mhq",
                    "title": "Longjing tea",
                    "description": "",
                    "category": None,
                    "status": "active",
                    "attributes": {},
                    "media": [],
                    "supplier_id": "sup_01m858qk3r6ha6jfmyva7edqwe",
                    "variants": [
                        {
                            "id": "var_01m858qk7s66fv3tb72e0c6mhr",
                            "product_id": "prod_01m858qk7s66fv3tb72e0c6mhq",
                            "sku": "TEA-LJ-250",
                            "title": "250 g",
                            "options": {},
                            "barcode": None,
                            "weight_grams": None,
                            "status": "active",
                            "version": 1,
                            "created_at": "2026-11-23T22:34:23.865836Z",
                            "updated_at": "2026-11-23T22:34:23.865836Z",
                        }
                    ],
                    "version": 1,
                    "created_at": "2026-11-23T22:34:23.865836Z",
                    "updated_at": "2026-11-23T22:34:23.865836Z",
                },
            )
        },
    },
    "createOffer": {
        "request": (
            "An offer with a minimum retail price",
            {
                "sku": "TEA-LJ-250",
                "wholesale_price": {"amount": 6000, "currency": "CNY"},
                "min_retail_price": {"amount": 7900, "currency": "CNY"},
            },
        ),
        "responses": {
            "201": (
                "The offer",
                {
                    "id": "off_01m858qk8bfxe4f5zr7dwgv41q",
                    "supplier_id": "sup_01m858qk3r6ha6jfmyva7edqwe",
                    "sku": "TEA-LJ-250",
                    "wholesale_price": {"amount": 6000, "currency": "CNY"},
                    "min_retail_price": {"amount": 7900, "currency": "CNY"},
                    "active": True,
                    "version": 1,
                    "created_at": "2026-11-23T22:34:23.883745Z",
                    "updated_at": "2026-11-23T22:34:23.883745Z",
                },
            )
        },
    },
    "setInventory": {
        "request": (
            "Two counts for one SKU; the second arrived late",
            {
                "items": [
                    {
                        "location_id": "loc_01m858qk5qf5w0rk4e4a980t44",
                        "sku": "TEA-LJ-250",
                        "on_hand": 40,
                        "sequence": 1042,
                    },
                    {
                        "location_id": "loc_01m858qk5qf5w0rk4e4a980t44",
                        "sku": "TEA-LJ-250",
                        "on_hand": 38,
                        "sequence": 1041,
                    },
                ]
            },
        ),
        "responses": {
            "200": (
                "One applied, one refused as stale",
                {
                    "applied": 1,
                    "unchanged": 0,
                    "refused": 1,
                    "results": [
                        {
                            "index": 0,
                            "location_id": "loc_01m858qk5qf5w0rk4e4a980t44",
                            "sku": "TEA-LJ-250",
                            "status": "applied",
                            "level": {
                                "id": "lvl_01m858qk8p0dkg2za5rd0sbjxx",
                                "location_id": "loc_01m858qk5qf5w0rk4e4a980t44",
                                "sku": "TEA-LJ-250",
                                "on_hand": 40,
                                "reserved": 0,
                                "committed": 0,
                                "safety_stock": 0,
                                "available": 40,
                                "last_sequence": 1042,
                                "updated_at": "2026-11-23T22:34:23.895835Z",
                            },
                        },
                        {
                            "index": 1,
                            "location_id": "loc_01m858qk5qf5w0rk4e4a980t44",
                            "sku": "TEA-LJ-250",
                            "status": "refused",
                            "error": {
                                "code": "stale_sequence",
                                "message": "sequence 1041 is not after the last applied sequence 1042",
                            },
                        },
                    ],
                },
            )
        },
    },
    "listLevels": {
        "responses": {
            "200": (
                "The stock levels of one SKU",
                {
                    "data": [
                        {
                            "id": "lvl_01m858qk8p0dkg2za5rd0sbjxx",
                            "location_id": "loc_01m858qk5qf5w0rk4e4a980t44",
                            "sku": "TEA-LJ-250",
                            "on_hand": 40,
                            "reserved": 0,
                            "committed": 0,
                            "safety_stock": 0,
                            "available": 40,
                            "last_sequence": 1042,
                            "updated_at": "2026-11-23T22:34:23.895835Z",
                        }
                    ],
                    "has_more": False,
                    "next_cursor": None,
                },
            )
        }
    },
    "createChannel": {
        "request": ("A partner app", {"name": "Pedal City", "kind": "partner_app"}),
        "responses": {
            "201": (
                "The channel, active",
                {
                    "id": "chn_01m858qk6fd58e71wprchxerhx",
                    "name": "Pedal City",
                    "kind": "partner_app",
                    "status": "active",
                    "version": 1,
                    "created_at": "2026-11-23T22:34:23.823622Z",
                    "updated_at": "2026-11-23T22:34:23.823622Z",
                },
            )
        },
    },
    "createListing": {
        "request": (
            "A listing at the channel's price",
            {"sku": "TEA-LJ-250", "price": {"amount": 8800, "currency": "CNY"}},
        ),
        "responses": {
            "201": (
                "The listing",
                {
                    "id": "lst_01m858qk938zn90c8a5cx319df",
                    "channel_id": "chn_01m858qk6fd58e71wprchxerhx",
                    "sku": "TEA-LJ-250",
                    "price": {"amount": 8800, "currency": "CNY"},
                    "active": True,
                    "version": 1,
                    "created_at": "2026-11-23T22:34:23.907746Z",
                    "updated_at": "2026-11-23T22:34:23.907746Z",
                },
            )
        },
    },
    "listListings": {
        "responses": {
            "200": (
                "The channel's listings",
                {
                    "data": [
                        {
                            "id": "lst_01m858qk938zn90c8a5cx319df",
                            "channel_id": "chn_01m858qk6fd58e71wprchxerhx",
                            "sku": "TEA-LJ-250",
                            "price": {"amount": 8800, "currency": "CNY"},
                            "active": True,
                            "version": 1,
                            "created_at": "2026-11-23T22:34:23.907746Z",
                            "updated_at": "2026-11-23T22:34:23.907746Z",
                        }
                    ],
                    "has_more": False,
                    "next_cursor": None,
                },
            )
        }
    },
    "createQuote": {
        "request": (
            "Two units to a destination",
            {"lines": [{"sku": "TEA-LJ-250", "qty": 2}], "destination": {"lat": 30.264, "lng": 120.155}},
        ),
        "responses": {
            "201": (
                "Priced, routed to the nearest store, stock held until expires_at",
                {
                    "id": "quo_01m858qkbcfpkqvaj75szpg9zf",
                    "channel_id": "chn_01m858qk6fd58e71wprchxerhx",
                    "status": "open",
                    "mode": "delivery",
                    "destination": {"lat": 30.264, "lng": 120.155},
                    "pickup_point_id": None,
                    "lines": [
                        {
                            "sku": "TEA-LJ-250",
                            "qty": 2,
                            "unit_price": {"amount": 8800, "currency": "CNY"},
                            "amount": {"amount": 17600, "currency": "CNY"},
                        }
                    ],
                    "subtotal": {"amount": 17600, "currency": "CNY"},
                    "delivery_fee": {"amount": 0, "currency": "CNY"},
                    "total": {"amount": 17600, "currency": "CNY"},
                    "shipments": [
                        {
                            "location_id": "loc_01m858qk5qf5w0rk4e4a980t44",
                            "supplier_id": "sup_01m858qk3r6ha6jfmyva7edqwe",
                            "lines": [{"sku": "TEA-LJ-250", "qty": 2}],
                            "tier": "near",
                            "eta_minutes": 28,
                            "distance_km": 0.801,
                            "promised_at": "2026-11-23T23:01:48.058751Z",
                            "fee": {"amount": 0, "currency": "CNY"},
                        }
                    ],
                    "expires_at": "2026-11-23T22:44:23.980988Z",
                    "order_id": None,
                    "created_at": "2026-11-23T22:34:23.980988Z",
                },
            )
        },
    },
    "createOrder": {
        "request": (
            "An order from a quote, with the consumer",
            {
                "quote_id": "quo_01m858qkbcfpkqvaj75szpg9zf",
                "customer": {"name": "Li Wei", "phone": "+86 138 0000 0000", "address": "12 Shuguang Road, Hangzhou"},
                "reference": "PC-10023",
            },
        ),
        "responses": {
            "201": (
                "The order with its fulfilment order",
                _ORDER,
            )
        },
    },
    "getOrder": {
        "responses": {
            "200": (
                "The order",
                _ORDER,
            )
        }
    },
    "createApiKey": {
        "request": (
            "A secret key for a supplier's stock sync",
            {
                "owner": {"type": "supplier", "id": "sup_01m858qk3r6ha6jfmyva7edqwe"},
                "kind": "secret",
                "name": "stock sync",
            },
        ),
        "responses": {
            "201": (
                "The key: shown in this response only",
                {
                    "id": "key_01m858qk710391k3vq3che0v5z",
                    "kind": "secret",
                    "owner": {"type": "supplier", "id": "sup_01m858qk3r6ha6jfmyva7edqwe"},
                    "name": "stock sync",
                    "prefix": "sk_Q26vvnVv",
                    "status": "active",
                    "version": 1,
                    "created_at": "2026-11-23T22:34:23.841893Z",
                    "updated_at": "2026-11-23T22:34:23.841893Z",
                    "revoked_at": None,
                    "allowed_origins": [],
                    "key": "sk_Q26vvnVvEUPCWSctrAPykdAPTnGdVk25",
                },
            )
        },
    },
    "createWebhookEndpoint": {
        "request": (
            "Order events and shortages to your HTTPS endpoint",
            {
                "url": "https://shop.example.net/hooks/gateway",
                "events": ["order.*", "inventory.shortage"],
                "description": "order updates",
            },
        ),
        "responses": {
            "201": (
                "The endpoint with its signing secret: shown in this response only",
                {
                    "id": "whe_01m858qkge2ww3s9r843vmyd04",
                    "owner": {"type": "channel", "id": "chn_01m858qk6fd58e71wprchxerhx"},
                    "url": "https://shop.example.net/hooks/gateway",
                    "events": ["order.*", "inventory.shortage"],
                    "description": "order updates",
                    "status": "enabled",
                    "disabled_reason": None,
                    "previous_secret_expires_at": None,
                    "version": 1,
                    "created_at": "2026-11-23T22:34:24.142740Z",
                    "updated_at": "2026-11-23T22:34:24.142740Z",
                    "secret": "whsec_LpAM3idw834U1ceFhx1popIA6fIh3NMAz+xRgRi7Zho=",
                },
            )
        },
    },
}
