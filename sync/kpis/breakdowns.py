"""Breakdowns of the KPIs by owner, pipeline, product, region or any other deal field.

A breakdown exists only when at least one deal's canonical values contain its field
(`KpiSettings.breakdown_fields`). A field that no deal has gives no breakdown, so the
report never shows a grouping that the data cannot support.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sync.kpis.definitions import Outcome
from sync.kpis.facts import DealFacts
from sync.kpis.periods import total_amount
from sync.kpis.results import Ratio


@dataclass(frozen=True)
class BreakdownRow:
    """The KPIs of the deals that share one value of the breakdown field (None: empty).

    `won` and `lost` count closed deals with a close date, as the win rate does.
    `won_revenue` sums their won amounts, and `open_value` sums the open amounts.
    """

    value: str | None
    deals: int
    won: int
    lost: int
    won_revenue: Decimal
    open_deals: int
    open_value: Decimal

    @property
    def win_rate(self) -> Ratio:
        return Ratio(Decimal(self.won), Decimal(self.won + self.lost))


@dataclass(frozen=True)
class Breakdown:
    """KPIs per value of canonical field `field`, by falling won revenue, then value."""

    name: str
    field: str
    rows: tuple[BreakdownRow, ...]


def breakdowns(deals: Sequence[DealFacts], fields: Mapping[str, str]) -> tuple[Breakdown, ...]:
    """Build one breakdown per entry of `fields` whose field at least one deal has."""
    result = []
    for name, field in fields.items():
        groups: dict[str | None, list[DealFacts]] = defaultdict(list)
        for deal in deals:
            if name in deal.dimensions:
                groups[deal.dimensions[name]].append(deal)
        if not groups:
            continue
        rows = sorted((_row(value, grouped) for value, grouped in groups.items()), key=lambda row: (-row.won_revenue, row.value or ""))
        result.append(Breakdown(name, field, tuple(rows)))
    return tuple(result)


def _row(value: str | None, deals: Sequence[DealFacts]) -> BreakdownRow:
    dated = [deal for deal in deals if deal.close_date is not None]
    won = [deal for deal in dated if deal.outcome is Outcome.WON]
    open_deals = [deal for deal in deals if deal.outcome is Outcome.OPEN]
    return BreakdownRow(
        value=value,
        deals=len(deals),
        won=len(won),
        lost=sum(1 for deal in dated if deal.outcome is Outcome.LOST),
        won_revenue=total_amount(won),
        open_deals=len(open_deals),
        open_value=total_amount(open_deals),
    )
