"""HTTP for the catalogue area: products, variants and the batch upsert."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from gateway.http.fields import SKU_PATTERN, TEXT_PATTERN, changes
from gateway.http.idempotency import IdempotencyKey
from gateway.http.pagination import DEFAULT_LIMIT, Limit, after_param, make_page
from gateway.http.problems import invalid, responses
from gateway.ids import pattern
from gateway.tenancy.auth import operator_or_supplier, principal_of
from suppliers.catalogue import services
from suppliers.catalogue.schemas import (
    ProductBatch,
    ProductBatchResult,
    ProductCreate,
    ProductOut,
    ProductPage,
    ProductStatus,
    ProductUpdate,
    VariantCreate,
    VariantOut,
    VariantPage,
    VariantUpdate,
)

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?([Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)


def parse_date_time(name: str, text: str) -> datetime:
    """An RFC 3339 `date-time` and nothing else (msgspec's lax query parsing would also take a
    Unix timestamp such as `0.5`); a leap second reads as :59."""
    match = _RFC3339.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
        micro = int(((match.group(7) or ".")[1:] + "000000")[:6])
        offset = timedelta(0)
        if match.group(9):
            hours, minutes = int(match.group(10)), int(match.group(11))
            if hours > 23 or minutes > 59:
                raise ValueError
            offset = (1 if match.group(9) == "+" else -1) * timedelta(hours=hours, minutes=minutes)
        return datetime(year, month, day, hour, minute, min(second, 59), micro, tzinfo=timezone(offset))
    except ValueError:
        raise invalid(name, "expected an RFC 3339 date-time such as 2026-05-01T08:00:00Z", location="query") from None


ProductId = Annotated[str, PathParameter(pattern=pattern("prod"))]
VariantId = Annotated[str, PathParameter(pattern=pattern("var"))]


class ProductController(Controller):
    path = "/v1/products"
    opt = {"scope_area": "catalogue"}  # OAuth scopes read:/write:catalogue (gateway.oauth.scopes)
    tags = ["catalogue"]

    @post(guards=[operator_or_supplier], responses=responses(409, 413, 422), summary="Create a product")
    async def create_product(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ProductCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> ProductOut:
        """A product with its variants, owned by the caller (a supplier, or the operator). Every
        `sku` must be new in the tenant: one already used is refused with 409 `sku-taken`, and
        nothing is written."""
        return await services.create_product(principal_of(request), data)

    @get(responses=responses(), summary="List products")
    async def list_products(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("prod") = None,  # type: ignore[valid-type]
        q: Annotated[
            str | None,
            QueryParameter(
                name="q",
                min_length=1,
                max_length=100,
                pattern=TEXT_PATTERN,
                description="Text to find in the title or a sku (case-insensitive substring).",
            ),
        ] = None,
        category: Annotated[
            str | None,
            QueryParameter(name="category", min_length=1, max_length=100, pattern=TEXT_PATTERN),
        ] = None,
        supplier_id: Annotated[
            str | None,
            QueryParameter(
                name="supplier_id", pattern=pattern("sup"), description="Only products this supplier created."
            ),
        ] = None,
        status: FromQuery[ProductStatus | None] = None,
        updated_since: Annotated[
            str | None,
            QueryParameter(
                name="updated_since",
                description="Only products created or changed (variants included) at or after this time (RFC 3339).",
                schema_extra={"format": "date-time"},
            ),
        ] = None,
    ) -> ProductPage:
        """The tenant's catalogue, each product with its variants, in id order. Everyone in the
        tenant reads it; a draft only its creator and the operator."""
        rows = await services.list_products(
            principal_of(request),
            limit,
            after,
            q=q,
            category=category,
            supplier_id=supplier_id,
            status=status,
            updated_since=parse_date_time("updated_since", updated_since) if updated_since is not None else None,
        )
        return make_page(ProductPage, rows, limit, services.product_out)

    @post(
        "/batch",
        guards=[operator_or_supplier],
        status_code=200,
        responses=responses(409, 413, 422),
        summary="Create or update many products",
    )
    async def upsert_products(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ProductBatch],
        idempotency_key: IdempotencyKey = None,
    ) -> ProductBatchResult:
        """Up to 1000 products per request, matched by sku, with one result per item in order.

        An item whose skus are all new creates a product (`created`). An item whose known skus
        all belong to one product the caller may change updates it (`updated`, or `unchanged`
        when it already reads so): the fields the item gives are set, the fields it leaves out
        stay, the variants it names are updated, its new skus are added, and variants it does
        not name are left as they are. Anything else is an `error` for that item alone:
        `duplicate_sku`, `sku_taken` (another party's product), `ambiguous_product` (skus of
        several products), `too_many_variants`. An item is applied whole or not at all."""
        results = await services.upsert_products(principal_of(request), data.products)
        return ProductBatchResult(results=results)

    @get("/{product_id:str}", responses=responses(404), summary="Retrieve a product")
    async def get_product(self, request: Request[Any, Any, Any], product_id: ProductId) -> ProductOut:
        return await services.get_product(principal_of(request), product_id)

    @patch(
        "/{product_id:str}",
        guards=[operator_or_supplier],
        responses=responses(404, 409, 413),
        summary="Update a product",
    )
    async def update_product(
        self, request: Request[Any, Any, Any], product_id: ProductId, data: JSONBody[ProductUpdate]
    ) -> ProductOut:
        """Only the supplier that created the product (or the operator) may change it: another
        supplier gets 403. A stale `version` is refused with 409."""
        return await services.update_product(principal_of(request), product_id, data.version, changes(data))

    @post(
        "/{product_id:str}/variants",
        guards=[operator_or_supplier],
        responses=responses(404, 409, 413, 422),
        summary="Add a variant to a product",
    )
    async def add_variant(
        self,
        request: Request[Any, Any, Any],
        product_id: ProductId,
        data: JSONBody[VariantCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> VariantOut:
        """A new sku for an existing product (at most 100 per product); owner rules as for updates."""
        return await services.add_variant(principal_of(request), product_id, data)


class VariantController(Controller):
    path = "/v1/variants"
    opt = {"scope_area": "catalogue"}  # OAuth scopes read:/write:catalogue (gateway.oauth.scopes)
    tags = ["catalogue"]

    @get(responses=responses(), summary="List variants")
    async def list_variants(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("var") = None,  # type: ignore[valid-type]
        sku: Annotated[
            str | None,
            QueryParameter(name="sku", min_length=1, max_length=64, pattern=SKU_PATTERN, description="Exact sku."),
        ] = None,
        product_id: Annotated[str | None, QueryParameter(name="product_id", pattern=pattern("prod"))] = None,
    ) -> VariantPage:
        """Variants of the products the caller may see, in id order."""
        rows = await services.list_variants(principal_of(request), limit, after, sku=sku, product_id=product_id)
        return make_page(VariantPage, rows, limit, services.variant_out)

    @get("/{variant_id:str}", responses=responses(404), summary="Retrieve a variant")
    async def get_variant(self, request: Request[Any, Any, Any], variant_id: VariantId) -> VariantOut:
        return await services.get_variant(principal_of(request), variant_id)

    @patch(
        "/{variant_id:str}",
        guards=[operator_or_supplier],
        responses=responses(404, 409, 413),
        summary="Update a variant",
    )
    async def update_variant(
        self, request: Request[Any, Any, Any], variant_id: VariantId, data: JSONBody[VariantUpdate]
    ) -> VariantOut:
        """Owner rules and `version` as for products; the `sku` cannot change."""
        return await services.update_variant(principal_of(request), variant_id, data.version, changes(data))


#: the controllers of this area, mounted by suppliers.routes
ROUTES: list[Any] = [ProductController, VariantController]
