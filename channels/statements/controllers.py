"""HTTP for statements (every party its own; the operator everyone's) and per-store attribution."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from litestar import Controller, Request, get
from litestar.params import QueryParameter
from litestar.response import Stream

from channels.statements import services
from channels.statements.arithmetic import CurrencyStatement
from channels.statements.periods import From, To, period
from channels.statements.schemas import (
    PARTY_PATTERN,
    AttributionOut,
    AttributionPage,
    AttributionTotals,
    CurrencyStatementOut,
    LineSplit,
    PartyRef,
    SignedMoney,
    StatementDayOut,
    StatementLineOut,
    StatementLinePage,
    StatementOut,
    StatementPage,
)
from gateway.http.pagination import DEFAULT_LIMIT, Limit, after_param
from gateway.http.problems import responses
from gateway.ids import pattern
from gateway.tenancy.auth import principal_of

PartyParam = Annotated[
    str | None,
    QueryParameter(
        name="party",
        pattern=PARTY_PATTERN,
        description="A supplier or channel id, or the tenant id for the platform's own statement. "
        "A supplier or channel may leave it out (or name itself); the operator gets every party without it.",
    ),
]
PartyCursor = Annotated[
    str | None,
    QueryParameter(name="after", pattern=PARTY_PATTERN, description="Parties after this id (`next_cursor`)."),
]


def _currency_out(statement: CurrencyStatement) -> CurrencyStatementOut:
    return CurrencyStatementOut(
        currency=statement.currency,
        opening=statement.opening,
        closing=statement.closing,
        days=[StatementDayOut(date=date.fromisoformat(d.day), amount=d.amount, lines=d.lines) for d in statement.days],
    )


def _line_out(row: dict[str, Any], party: services.Party | None) -> StatementLineOut:
    return StatementLineOut(
        id=row["id"],
        date=date.fromisoformat(row["day"]),
        at=row["at"],
        kind=row["kind"],
        order_id=row["order_id"],
        fulfilment_order_id=row["fulfilment_order_id"],
        channel_id=row["channel_id"],
        supplier_id=row["supplier_id"],
        location_id=row["location_id"],
        sku=row["sku"],
        qty=row["qty"],
        amount=SignedMoney(amount=services.part_of(row, party), currency=row["currency"]),
        split=LineSplit(
            retail=row["retail_amount"],
            wholesale=row["wholesale_amount"],
            platform_fee=row["platform_fee_amount"],
            channel_margin=row["channel_margin_amount"],
            delivery_fee=row["delivery_fee_amount"],
        ),
    )


class StatementController(Controller):
    path = "/v1/statements"
    tags = ["statements"]
    opt = {"scope_area": "statements"}  # OAuth scopes read:/write:statements (gateway.oauth.scopes)

    @get(responses=responses(404, 409), summary="Statements")
    async def list_statements(
        self,
        request: Request[Any, Any, Any],
        party: PartyParam = None,
        from_: From = None,
        to: To = None,
        limit: Limit = DEFAULT_LIMIT,
        after: PartyCursor = None,
    ) -> StatementPage:
        """Each party's money over a period of UTC days: the opening balance (everything before
        `from`), the net amount and number of lines of each day, and the closing balance, per
        currency. A supplier's part of a line is its wholesale price plus the delivery fee, a
        channel's its margin, the platform's its fee: together, exactly what consumers paid minus
        what they got back. A supplier or channel sees only its own statement."""
        principal = principal_of(request)
        first, last = period(from_, to)
        chosen = await services.party_of(principal, party)
        if chosen is not None:
            found = [(chosen, await services.statement(principal.tenant_id, chosen, first, last))]
            found = [] if after is not None and after >= chosen.id else found
            more = False
        else:
            found, more = await services.statements(principal.tenant_id, first, last, after, limit)
        data = [
            StatementOut(
                party=PartyRef(type=who.type, id=who.id),
                from_=first,
                to=last,
                currencies=[_currency_out(c) for c in blocks],
            )
            for who, blocks in found
        ]
        return StatementPage(data=data, has_more=more, next_cursor=data[-1].party.id if more else None)

    @get("/lines", responses=responses(404, 409), summary="Statement lines")
    async def list_statement_lines(
        self,
        request: Request[Any, Any, Any],
        party: PartyParam = None,
        from_: From = None,
        to: To = None,
        limit: Limit = DEFAULT_LIMIT,
        after: after_param("mny") = None,  # type: ignore[valid-type]
    ) -> StatementLinePage:
        """One line per order line, delivery fee and reversal (cancellation, return, re-route),
        by day, with the party's part as `amount` and the whole split. Without `party` the
        operator reads the whole journal, `amount` being what the consumer paid."""
        principal = principal_of(request)
        first, last = period(from_, to)
        chosen = await services.party_of(principal, party)
        rows = await services.lines(principal.tenant_id, chosen, first, last, after, limit)
        more = len(rows) > limit
        return StatementLinePage(
            data=[_line_out(row, chosen) for row in rows[:limit]],
            has_more=more,
            next_cursor=rows[limit - 1]["id"] if more else None,
        )

    @get("/csv", responses=responses(404, 409), media_type="text/csv", summary="Export a statement as CSV")
    async def export_statement(
        self, request: Request[Any, Any, Any], party: PartyParam = None, from_: From = None, to: To = None
    ) -> Stream:
        """The statement as CSV, for a spreadsheet or an accounting system: a header, an `opening`
        row per currency, each day's `line` rows followed by its `day_total` rows, and a `closing`
        row per currency. Without `party`, the operator exports the whole journal (amounts are what
        consumers paid). Streamed: a month of a million lines is fine."""
        principal = principal_of(request)
        first, last = period(from_, to)
        chosen = await services.party_of(principal, party)
        name = f"statement-{chosen.id if chosen else 'all'}-{first.isoformat()}-{last.isoformat()}.csv"
        return Stream(
            services.csv_rows(principal.tenant_id, chosen, first, last),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


GroupBy = Annotated[
    Literal["location", "channel"],
    QueryParameter(name="group_by", description="Per location that filled the lines, or per channel that sold them."),
]


class AttributionController(Controller):
    path = "/v1/insight/attribution"
    tags = ["insight"]
    opt = {"scope_area": "statements"}  # OAuth scopes read:/write:statements (gateway.oauth.scopes)

    @get(responses=responses(409), summary="Per-store attribution")
    async def list_attribution(
        self,
        request: Request[Any, Any, Any],
        group_by: GroupBy = "location",
        from_: From = None,
        to: To = None,
        location_id: Annotated[str | None, QueryParameter(name="location_id", pattern=pattern("loc"))] = None,
        channel_id: Annotated[str | None, QueryParameter(name="channel_id", pattern=pattern("chn"))] = None,
        supplier_id: Annotated[str | None, QueryParameter(name="supplier_id", pattern=pattern("sup"))] = None,
        limit: Limit = DEFAULT_LIMIT,
        after: Annotated[
            str | None,
            QueryParameter(
                name="after", pattern=r"^(loc|chn)_[0-9a-hjkmnp-tv-z]{26}$", description="Ids after this one."
            ),
        ] = None,
    ) -> AttributionPage:
        """Revenue, wholesale cost, channel margin, platform fee and delivery fees of a period per
        location (and its supplier) or per channel, net of cancellations, returns and re-routes,
        per currency. Combine `group_by=location` with `channel_id` for one channel's sales per
        store. A supplier sees its own locations, a channel its own sales."""
        principal = principal_of(request)
        first, last = period(from_, to)
        groups, more = await services.attribution(
            principal,
            group_by,
            first,
            last,
            {"location_id": location_id, "channel_id": channel_id, "supplier_id": supplier_id},
            after,
            limit,
        )
        data = []
        for rows in groups:
            head = rows[0]
            data.append(
                AttributionOut(
                    location_id=head["id"] if group_by == "location" else None,
                    supplier_id=head.get("supplier_id"),
                    channel_id=head["id"] if group_by == "channel" else None,
                    totals=[
                        AttributionTotals(
                            currency=row["currency"],
                            revenue=int(row["revenue"]),
                            wholesale_cost=int(row["wholesale"]),
                            channel_margin=int(row["margin"]),
                            platform_fee=int(row["fee"]),
                            delivery_fees=int(row["delivery"]),
                            units=int(row["units"]),
                            orders=int(row["orders"]),
                        )
                        for row in rows
                    ],
                )
            )
        return AttributionPage(data=data, has_more=more, next_cursor=groups[-1][0]["id"] if more else None)


ROUTES: list[Any] = [StatementController, AttributionController]
