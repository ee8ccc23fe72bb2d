"""Bulk stock sync, the pure part: rows in (CSV, JSON, dicts), checked, given sequences and
cut into batches for `POST /v1/inventory/set`; batch answers mapped back to the rows.

A row the gateway would refuse for its shape (a malformed location id, a negative count) is
refused here, in its result, instead of failing the 10,000 good rows of its batch with a 422.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

from sdk.models import BatchResult, ItemResult, SetItem

#: the gateway's limit per request is 10,000; 5,000 keeps each request well under a second
DEFAULT_BATCH_SIZE = 5000
MAX_BATCH_SIZE = 10_000
MAX_QUANTITY = 10**9
MAX_SEQUENCE = 2**53 - 1

_LOCATION_ID = re.compile(r"^loc_[0-9a-hjkmnp-tv-z]{26}$")
_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

Status = Literal["applied", "unchanged", "refused"]


class RowResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What became of one input row (`row` counts from 0 in input order)."""

    row: int
    location_id: str
    sku: str
    status: Status
    on_hand: int | None = None
    code: str | None = None
    message: str | None = None


class BatchReport(msgspec.Struct, kw_only=True):
    """One batch sent: its rows' results (refused-before-sending rows included)."""

    number: int
    rows: int
    applied: int
    unchanged: int
    refused: int
    results: list[RowResult]


class SyncReport(msgspec.Struct, kw_only=True):
    """The outcome of `inventory.sync(rows)`: counts and a result per row, in input order."""

    rows: int = 0
    applied: int = 0
    unchanged: int = 0
    refused: int = 0
    batches: int = 0
    results: list[RowResult] = msgspec.field(default_factory=list)

    @property
    def refusals(self) -> list[RowResult]:
        return [r for r in self.results if r.status == "refused"]

    def add(self, batch: BatchReport) -> None:
        self.rows += batch.rows
        self.applied += batch.applied
        self.unchanged += batch.unchanged
        self.refused += batch.refused
        self.batches += 1
        self.results.extend(batch.results)

    def finish(self) -> SyncReport:
        self.results.sort(key=lambda r: r.row)
        return self


def sequence_base() -> int:
    """Microseconds since the epoch: larger than any earlier push's, so a whole new push is
    never stale; row `i` gets `base + i`, so a later row for the same level wins."""
    return time.time_ns() // 1000


def _refused(row: int, raw: Mapping[str, Any], message: str) -> RowResult:
    return RowResult(
        row=row,
        location_id=str(raw.get("location_id") or ""),
        sku=str(raw.get("sku") or ""),
        status="refused",
        code="invalid_row",
        message=message,
    )


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def check_row(row: int, raw: SetItem | Mapping[str, Any], base: int) -> SetItem | RowResult:
    """A row as a `SetItem` (with `base + row` as its sequence when it brings none), or its refusal."""
    if isinstance(raw, SetItem):
        raw = msgspec.structs.asdict(raw)
    location_id = raw.get("location_id")
    sku = raw.get("sku")
    if not isinstance(location_id, str) or not _LOCATION_ID.match(location_id.strip()):
        return _refused(row, raw, f"location_id {location_id!r} is not a location id (loc_…)")
    if not isinstance(sku, str) or not _SKU.match(sku.strip()):
        return _refused(row, raw, f"sku {sku!r} is not a sku (letters, digits, . _ -; up to 64)")
    on_hand = _integer(raw.get("on_hand"))
    if on_hand is None or not 0 <= on_hand <= MAX_QUANTITY:
        return _refused(row, raw, f"on_hand {raw.get('on_hand')!r} is not a whole number from 0 to 10^9")
    given = raw.get("sequence")
    sequence = base + row if given in (None, "") else _integer(given)
    if sequence is None or not 0 <= sequence <= MAX_SEQUENCE:
        return _refused(row, raw, f"sequence {given!r} is not a whole number from 0 to 2^53-1")
    safety = raw.get("safety_stock")
    safety_stock = None if safety in (None, "") else _integer(safety)
    if safety not in (None, "") and (safety_stock is None or not 0 <= safety_stock <= MAX_QUANTITY):
        return _refused(row, raw, f"safety_stock {safety!r} is not a whole number from 0 to 10^9")
    return SetItem(
        location_id=location_id.strip(), sku=sku.strip(), on_hand=on_hand, sequence=sequence, safety_stock=safety_stock
    )


class Batch(msgspec.Struct, kw_only=True):
    """Rows to send together (`rows[i]` is the input row of `items[i]`) and those refused here."""

    number: int
    rows: list[int]
    items: list[SetItem]
    refused: list[RowResult]


def plan_batches(
    rows: Iterable[SetItem | Mapping[str, Any]], batch_size: int = DEFAULT_BATCH_SIZE, base: int | None = None
) -> Iterator[Batch]:
    """Cut any number of rows (a generator is fine: nothing is read ahead beyond a batch)."""
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be 1..{MAX_BATCH_SIZE}")
    base = sequence_base() if base is None else base
    number = 0
    batch = Batch(number=0, rows=[], items=[], refused=[])
    for index, raw in enumerate(rows):
        checked = check_row(index, raw, base)
        if isinstance(checked, RowResult):
            batch.refused.append(checked)
            continue
        batch.rows.append(index)
        batch.items.append(checked)
        if len(batch.items) == batch_size:
            yield batch
            number += 1
            batch = Batch(number=number, rows=[], items=[], refused=[])
    if batch.items or batch.refused:
        yield batch


def _row_result(row: int, item: ItemResult) -> RowResult:
    if item.status == "refused":
        error = item.error
        return RowResult(
            row=row,
            location_id=item.location_id,
            sku=item.sku,
            status="refused",
            code=error.code if error else None,
            message=error.message if error else None,
        )
    return RowResult(
        row=row,
        location_id=item.location_id,
        sku=item.sku,
        status=item.status,
        on_hand=item.level.on_hand if item.level else None,
    )


def report(batch: Batch, answer: BatchResult | None, refusal: tuple[str, str] | None = None) -> BatchReport:
    """A batch's answer mapped back to its input rows; `refusal` (code, message) when the
    gateway refused the whole batch."""
    results = list(batch.refused)
    if answer is not None:
        results.extend(_row_result(batch.rows[item.index], item) for item in answer.results)
    else:
        code, message = refusal or ("refused", "")
        results.extend(
            RowResult(row=row, location_id=item.location_id, sku=item.sku, status="refused", code=code, message=message)
            for row, item in zip(batch.rows, batch.items, strict=True)
        )
    counts = {"applied": 0, "unchanged": 0, "refused": 0}
    for result in results:
        counts[result.status] += 1
    return BatchReport(number=batch.number, rows=len(results), results=results, **counts)


# -- files ---------------------------------------------------------------------------------------


def read_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """Rows of a stock file: CSV with a header (`location_id,sku,on_hand[,sequence][,safety_stock]`),
    a JSON array of objects or `{"items": [...]}`, or JSON lines (`.jsonl`, `.ndjson`)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            yield from csv.DictReader(handle)
    elif suffix in (".jsonl", ".ndjson"):
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    yield msgspec.json.decode(line)
    else:
        document = msgspec.json.decode(path.read_bytes())
        items = document.get("items") if isinstance(document, dict) else document
        if not isinstance(items, list):
            raise ValueError(f"{path}: expected a JSON array of rows or an object with `items`")
        yield from items


def write_csv(rows: Iterable[Mapping[str, Any]], fields: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
