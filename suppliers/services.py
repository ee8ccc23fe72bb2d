"""Suppliers: the companies in a tenant's network (their life cycle is `gateway.parties`)."""

from __future__ import annotations

from gateway.parties import Parties
from suppliers.models import Supplier
from suppliers.schemas import SupplierOut

suppliers = Parties(Supplier, "supplier", "sup", SupplierOut)
