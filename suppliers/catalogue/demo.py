"""Demo data for the catalogue area (called by gateway.demo in order: catalogue, locations, offers, inventory)."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.tenancy.principal import Principal
from suppliers.catalogue import services
from suppliers.catalogue.schemas import ProductCreate

CDN = "https://images.example.com/demo"

#: created by the operator: staples the platform lists for every supplier to offer
OPERATOR_PRODUCTS: list[dict[str, Any]] = [
    {
        "title": "Whole milk",
        "category": "groceries/dairy",
        "attributes": {"brand": "Meadow Farm", "storage": "chilled 0-4 °C"},
        "media": [f"{CDN}/whole-milk.jpg"],
        "variants": [
            {
                "sku": "6901234567892",
                "title": "Whole milk 1 L",
                "options": {"size": "1 L"},
                "barcode": "6901234567892",
                "weight_grams": 1060,
            },
            {
                "sku": "6901234567908",
                "title": "Whole milk 2 L",
                "options": {"size": "2 L"},
                "barcode": "6901234567908",
                "weight_grams": 2100,
            },
        ],
    },
    {
        "title": "Free-range eggs",
        "category": "groceries/dairy",
        "attributes": {"origin": "Hangzhou"},
        "variants": [
            {"sku": "EGG-FR-6", "title": "Free-range eggs, box of 6", "options": {"pack": "6"}, "weight_grams": 380},
            {"sku": "EGG-FR-12", "title": "Free-range eggs, box of 12", "options": {"pack": "12"}, "weight_grams": 750},
        ],
    },
]

#: per demo supplier (in gateway.demo's order): what it publishes itself
SUPPLIER_PRODUCTS: list[list[dict[str, Any]]] = [
    [  # Fresh Valley Grocers
        {
            "title": "Fuji apples",
            "description": "Crisp and sweet, picked this season.",
            "category": "groceries/fruit",
            "attributes": {"origin": "Yantai", "variety": "Fuji"},
            "media": [f"{CDN}/fuji-apples.jpg"],
            "variants": [
                {
                    "sku": "FVG-APPLE-1KG",
                    "title": "Fuji apples 1 kg",
                    "options": {"weight": "1 kg"},
                    "weight_grams": 1000,
                },
                {
                    "sku": "FVG-APPLE-2KG",
                    "title": "Fuji apples 2 kg",
                    "options": {"weight": "2 kg"},
                    "weight_grams": 2000,
                },
            ],
        },
        {
            "title": "Jasmine rice",
            "category": "groceries/pantry",
            "attributes": {"origin": "Thailand"},
            "variants": [
                {"sku": "FVG-RICE-5KG", "title": "Jasmine rice 5 kg", "barcode": "8850123456781", "weight_grams": 5000},
            ],
        },
    ],
    [  # Harbour Bikes & Parts
        {
            "title": "Inner tube 700c",
            "category": "bike-parts/tyres",
            "attributes": {"brand": "Harbour"},
            "media": [f"{CDN}/inner-tube.jpg"],
            "variants": [
                {
                    "sku": "HBP-TUBE-700x25-PV",
                    "title": "Inner tube 700x25c, Presta",
                    "weight_grams": 105,
                    "options": {"size": "700x25c", "valve": "Presta"},
                },
                {
                    "sku": "HBP-TUBE-700x32-SV",
                    "title": "Inner tube 700x32c, Schrader",
                    "weight_grams": 130,
                    "options": {"size": "700x32c", "valve": "Schrader"},
                },
            ],
        },
        {
            "title": "Disc brake pads",
            "category": "bike-parts/brakes",
            "variants": [
                {
                    "sku": "HBP-PADS-RESIN",
                    "title": "Disc brake pads, resin",
                    "options": {"compound": "resin"},
                    "weight_grams": 40,
                },
                {
                    "sku": "HBP-PADS-METAL",
                    "title": "Disc brake pads, sintered",
                    "options": {"compound": "sintered"},
                    "weight_grams": 45,
                },
            ],
        },
        {
            # a draft: only Harbour Bikes and the operator see it
            "title": "Tubeless repair kit",
            "category": "bike-parts/tyres",
            "status": "draft",
            "variants": [{"sku": "HBP-TLR-KIT", "title": "Tubeless repair kit", "weight_grams": 60}],
        },
    ],
    [  # Old Town Bakery
        {
            "title": "Sourdough loaf",
            "description": "Baked every morning with a 48-hour ferment.",
            "category": "bakery/bread",
            "media": [f"{CDN}/sourdough.jpg"],
            "variants": [
                {
                    "sku": "OTB-SOUR-800",
                    "title": "Sourdough loaf 800 g",
                    "options": {"size": "whole"},
                    "weight_grams": 800,
                },
                {
                    "sku": "OTB-SOUR-400",
                    "title": "Sourdough half loaf 400 g",
                    "options": {"size": "half"},
                    "weight_grams": 400,
                },
            ],
        },
        {
            "title": "Butter croissant",
            "category": "bakery/pastry",
            "variants": [
                {"sku": "OTB-CROISSANT-1", "title": "Butter croissant", "options": {"pack": "1"}, "weight_grams": 70},
                {
                    "sku": "OTB-CROISSANT-4",
                    "title": "Butter croissants, 4 pack",
                    "options": {"pack": "4"},
                    "weight_grams": 280,
                },
            ],
        },
    ],
]


async def seed(operator: Principal, world: dict[str, Any]) -> None:
    """Add this area's demo objects; `world` holds what earlier areas made and receives ours.

    Leaves `world["skus"]` (every sku of an active product, for offers and stock) and
    `world["skus_by_supplier"]` (supplier id → the skus of the products it created)."""
    skus: list[str] = []
    by_supplier: dict[str, list[str]] = {}
    makers: list[tuple[Principal, list[dict[str, Any]]]] = [(operator, OPERATOR_PRODUCTS)]
    for supplier, products in zip(world["suppliers"], SUPPLIER_PRODUCTS, strict=False):
        principal = Principal(
            tenant_id=operator.tenant_id, type="supplier", owner_id=supplier["id"], key_id="demo", key_kind="secret"
        )
        makers.append((principal, products))
    for principal, products in makers:
        for product in products:
            out = await services.create_product(principal, msgspec.convert(product, ProductCreate))
            if out.status != "active":
                continue
            skus += [variant.sku for variant in out.variants]
            if principal.owner_id is not None:
                by_supplier.setdefault(principal.owner_id, []).extend(variant.sku for variant in out.variants)
    world["skus"] = skus
    world["skus_by_supplier"] = by_supplier
