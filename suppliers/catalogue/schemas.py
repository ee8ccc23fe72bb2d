"""Request and response shapes of the catalogue: products, their variants, the batch upsert.

Every constraint lives in the types (`msgspec.Meta`), so it is both enforced and published.
Free-form objects (`attributes`, `options`) publish their key rules as `propertyNames` and
their size as `maxProperties` (Litestar publishes neither on its own).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from gateway.http.fields import TEXT_PATTERN, Sku, Strict, Version
from gateway.http.pagination import Page

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=300, pattern=TEXT_PATTERN)]
#: free text: line breaks and tabs allowed, other control characters not
DESCRIPTION_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Description = Annotated[str, msgspec.Meta(max_length=10_000, pattern=DESCRIPTION_PATTERN)]
Category = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=100,
        pattern=TEXT_PATTERN,
        description="A category name or path such as `groceries/fruit`; filter on it with `?category=`.",
    ),
]
BARCODE_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
Barcode = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern=BARCODE_PATTERN, description="GTIN/EAN/UPC or other code.")
]
#: Litestar drops a constraint whose value is falsy (`ge=0`): `extra` publishes it anyway
WeightGrams = Annotated[
    int,
    msgspec.Meta(
        ge=0,
        le=100_000_000,
        description="Shipping weight in grams.",
        extra_json_schema={"description": "Shipping weight in grams.", "extra": {"minimum": 0}},
    ),
]
#: no `\s` here: Python's and ECMA-262's differ (U+0085, U+FEFF), and the schema is read by both
MEDIA_URL_PATTERN = r"^https://[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?(/[^\x00-\x20\x7f-\x9f]*)?$"
MediaUrl = Annotated[str, msgspec.Meta(min_length=9, max_length=2048, pattern=MEDIA_URL_PATTERN)]

MAX_MEDIA = 20
MAX_ATTRIBUTES = 50
MAX_OPTIONS = 10
MAX_VARIANTS = 100
MAX_BATCH = 1000

_KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": TEXT_PATTERN}
Key = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=TEXT_PATTERN)]
Value = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=TEXT_PATTERN)]


Attributes = Annotated[
    dict[Key, Value],
    msgspec.Meta(
        max_length=MAX_ATTRIBUTES,
        extra_json_schema={
            "description": "Product attributes, name → value (e.g. `brand`, `origin`).",
            "extra": {"maxProperties": MAX_ATTRIBUTES, "propertyNames": _KEY_SCHEMA},
        },
    ),
]
Options = Annotated[
    dict[Key, Value],
    msgspec.Meta(
        max_length=MAX_OPTIONS,
        extra_json_schema={
            "description": "What sets this variant apart, name → value (e.g. `size: M`).",
            "extra": {"maxProperties": MAX_OPTIONS, "propertyNames": _KEY_SCHEMA},
        },
    ),
]
Media = Annotated[
    list[MediaUrl],
    msgspec.Meta(max_length=MAX_MEDIA, extra_json_schema={"description": "https URLs of images or videos, in order."}),
]

ProductStatus = Literal["draft", "active", "archived"]
VariantStatus = Literal["active", "archived"]


# -- requests ----------------------------------------------------------------------------


class VariantCreate(Strict, kw_only=True):
    sku: Sku
    title: Title
    options: Options = {}
    barcode: Barcode | None = None
    weight_grams: WeightGrams | None = None
    status: VariantStatus = "active"


class ProductCreate(Strict, kw_only=True):
    """A product and its variants. The creator owns it: a supplier, or the operator.

    A `draft` is visible to its creator and the operator only; `active` and `archived`
    products are visible to everyone in the tenant."""

    title: Title
    description: Description = ""
    category: Category | None = None
    status: ProductStatus = "active"
    attributes: Attributes = {}
    media: Media = []
    variants: Annotated[list[VariantCreate], msgspec.Meta(min_length=1, max_length=MAX_VARIANTS)]


class ProductUpdate(Strict, kw_only=True):
    """The fields to change; the others stay. Variants change through `/v1/variants/{id}`."""

    version: Version
    title: Title | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    category: Category | UnsetType | None = UNSET
    status: ProductStatus | UnsetType = UNSET
    attributes: Attributes | UnsetType = UNSET
    media: Media | UnsetType = UNSET


class VariantUpdate(Strict, kw_only=True):
    """The fields to change; the others stay. A `sku` never changes: offers and stock refer to it."""

    version: Version
    title: Title | UnsetType = UNSET
    options: Options | UnsetType = UNSET
    barcode: Barcode | UnsetType | None = UNSET
    weight_grams: WeightGrams | UnsetType | None = UNSET
    status: VariantStatus | UnsetType = UNSET


class BatchVariant(Strict, kw_only=True):
    """A variant in a batch item: optional fields left out keep their current value (or take
    the default for a new variant)."""

    sku: Sku
    title: Title
    options: Options | UnsetType = UNSET
    barcode: Barcode | UnsetType | None = UNSET
    weight_grams: WeightGrams | UnsetType | None = UNSET
    status: VariantStatus | UnsetType = UNSET


class BatchProduct(Strict, kw_only=True):
    """A product in a batch: optional fields left out keep their current value (or take the
    default for a new product)."""

    title: Title
    description: Description | UnsetType = UNSET
    category: Category | UnsetType | None = UNSET
    status: ProductStatus | UnsetType = UNSET
    attributes: Attributes | UnsetType = UNSET
    media: Media | UnsetType = UNSET
    variants: Annotated[list[BatchVariant], msgspec.Meta(min_length=1, max_length=MAX_VARIANTS)]


class ProductBatch(Strict, kw_only=True):
    products: Annotated[list[BatchProduct], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


# -- responses ---------------------------------------------------------------------------


class VariantOut(msgspec.Struct, kw_only=True):
    id: str
    product_id: str
    sku: str
    title: str
    options: dict[str, str]
    barcode: str | None
    weight_grams: int | None
    status: VariantStatus
    version: int
    created_at: datetime
    updated_at: datetime


class ProductOut(msgspec.Struct, kw_only=True):
    id: str
    title: str
    description: str
    category: str | None
    status: ProductStatus
    attributes: dict[str, str]
    media: list[str]
    #: the supplier that created it and alone may change it; None when the operator did
    supplier_id: str | None
    variants: list[VariantOut]
    version: int
    created_at: datetime
    #: also moves when a variant changes, so `?updated_since=` finds every change
    updated_at: datetime


class ProductPage(Page[ProductOut]):
    """A page of products, each with its variants."""


class VariantPage(Page[VariantOut]):
    """A page of variants."""


BatchCode = Literal["duplicate_sku", "sku_taken", "ambiguous_product", "too_many_variants"]


class BatchError(msgspec.Struct, kw_only=True):
    #: `duplicate_sku`: the sku is given twice in the request; `sku_taken`: it belongs to a
    #: product the caller may not change; `ambiguous_product`: the skus belong to several
    #: products; `too_many_variants`: the product would have more than 100 variants
    code: BatchCode
    message: str
    #: the JSON path of the field at fault, e.g. `products[3].variants[0].sku`
    field: str


class BatchItemResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    #: the item's position in `products`
    index: int
    status: Literal["created", "updated", "unchanged", "error"]
    product_id: str | None = None
    error: BatchError | None = None


class ProductBatchResult(msgspec.Struct, kw_only=True):
    #: one per item, in the request's order
    results: list[BatchItemResult]
