"""Channel availability (O2): how many units of one SKU each sales channel may sell now.

One physical stock feeds every channel; what a channel *sees* is computed from
the pooled ledger by the seller's rules — which locations feed it (a
marketplace-run warehouse such as FBA feeds only its own channel), a buffer
held back (安全在庫, in units or % of its pool), a cap, a ratio of its pool, a
priority that decides who keeps stock when it is short, per-SKU overrides and
start/end dates so that a rule can hold for a sale only.

Two modes:

* ``shared`` — first come, first served: every channel sees its whole pool, so
  the channels' figures overlap and the reservation step (O3) is what stops the
  last unit from being sold twice.
* ``allocated`` — the stock on hand is split between channels in priority
  order, so the figures never add up to more than exists.

Pure functions of their arguments (no database, no clock), so that they can be
property-tested and so that the web preview shows exactly what a channel will
be sent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class Mode(StrEnum):
    """How channels share one SKU's stock."""

    shared = "shared"  # first come, first served on the whole pool
    allocated = "allocated"  # the pool is split between channels in priority order


@dataclass(frozen=True)
class ChannelRule:
    """What one channel may see of the pooled stock of a SKU.

    The larger of the two buffers applies, so that a percentage buffer still
    holds back a floor of units when the pool is small.
    """

    channel: str
    locations: frozenset[str]  # the locations that feed this channel (FBA feeds only Amazon)
    buffer_units: int = 0  # units held back from this channel (安全在庫)
    buffer_pct: Decimal = Decimal(0)  # % of its pool held back (0..100)
    cap: int | None = None  # at most this many
    ratio: Decimal | None = None  # at most this share (0..1) of its pool
    priority: int = 100  # lower keeps stock first when it is short
    sku: str | None = None  # a per-SKU override when set
    starts_at: datetime | None = None  # the rule holds from (inclusive) ...
    ends_at: datetime | None = None  # ... until (exclusive); None = open

    def __post_init__(self) -> None:
        # Accept ints for the Decimal fields, but never a binary float: 0.1 is not one tenth.
        object.__setattr__(self, "buffer_pct", _as_decimal("buffer_pct", self.buffer_pct))
        if self.ratio is not None:
            object.__setattr__(self, "ratio", _as_decimal("ratio", self.ratio))
        object.__setattr__(self, "locations", frozenset(self.locations))
        problem = self._problem()
        if problem:
            raise ValueError(f"channel rule {self.channel!r}: {problem}")

    def _problem(self) -> str | None:
        if not self.channel:
            return "channel must not be empty"
        if not self.locations:
            return "locations must name at least one location that feeds the channel"
        if self.buffer_units < 0:
            return f"buffer_units must be >= 0, got {self.buffer_units}"
        if not 0 <= self.buffer_pct <= 100:
            return f"buffer_pct must be between 0 and 100, got {self.buffer_pct}"
        if self.cap is not None and self.cap < 0:
            return f"cap must be >= 0, got {self.cap}"
        if self.ratio is not None and not 0 <= self.ratio <= 1:
            return f"ratio must be between 0 and 1, got {self.ratio}"
        starts, ends = self.starts_at, self.ends_at
        if starts is not None and ends is not None and ends <= starts:
            return f"ends_at {ends} must be after starts_at {starts}"
        return None


def _as_decimal(name: str, value: object) -> Decimal:
    if isinstance(value, float):
        raise TypeError(f"{name} must be a Decimal or an int, not a float ({value!r})")
    if not isinstance(value, Decimal | int | str):
        raise TypeError(f"{name} must be a Decimal or an int, got {value!r}")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


@dataclass(frozen=True)
class Stock:
    """Per location, for one SKU.

    Not validated here: the ledger keeps 0 <= reserved <= on_hand, but a count or
    a write-off can briefly leave fewer units on hand than are reserved, and the
    channels must then be told 0, not see an error — so a location never counts
    below zero.
    """

    on_hand: Mapping[str, int]  # location -> units on hand (>= 0)
    reserved: Mapping[str, int]  # location -> units reserved by all channels
    reserved_by_channel: Mapping[str, int]  # channel -> units it holds reserved


def active_rules(rules: Iterable[ChannelRule], sku: str, at: datetime) -> dict[str, ChannelRule]:
    """One rule per channel: the rule that governs ``sku`` at the instant ``at``.

    An active per-SKU override beats an active general rule; among active rules
    of the same specificity the one with the latest ``starts_at`` wins (a dated
    sale rule beats the undated default: None is the earliest). When two start
    together the one that ends first wins — the narrower window is the more
    deliberate rule (a flash sale inside a week-long sale). Any remaining tie
    is broken on the rules' other fields, so the answer never depends on the
    order the rules were read in. Datetimes must all be aware or all naive.
    """
    chosen: dict[str, ChannelRule] = {}
    for rule in rules:
        if not _holds(rule, sku, at):
            continue
        held = chosen.get(rule.channel)
        if held is None or _beats(rule, held):
            chosen[rule.channel] = rule
    return chosen


def _holds(rule: ChannelRule, sku: str, at: datetime) -> bool:
    return (
        (rule.sku is None or rule.sku == sku)
        and (rule.starts_at is None or rule.starts_at <= at)
        and (rule.ends_at is None or at < rule.ends_at)
    )


def _beats(challenger: ChannelRule, holder: ChannelRule) -> bool:
    """A strict total order on rules of one channel, so that the winner is order-free."""
    if (challenger.sku is None) != (holder.sku is None):
        return challenger.sku is not None
    if challenger.starts_at != holder.starts_at:
        if holder.starts_at is None or challenger.starts_at is None:
            return holder.starts_at is None
        return challenger.starts_at > holder.starts_at
    if challenger.ends_at != holder.ends_at:
        if holder.ends_at is None or challenger.ends_at is None:
            return holder.ends_at is None
        return challenger.ends_at < holder.ends_at
    return _fingerprint(challenger) < _fingerprint(holder)


def _fingerprint(rule: ChannelRule) -> tuple[object, ...]:
    return (
        sorted(rule.locations),
        rule.priority,
        rule.buffer_units,
        rule.buffer_pct,
        rule.cap is not None,
        rule.cap or 0,
        rule.ratio is not None,
        rule.ratio or Decimal(0),
    )


def channel_availability(
    stock: Stock, rules: Mapping[str, ChannelRule], mode: Mode
) -> dict[str, int]:
    """Units each channel may sell now (a key for every channel in ``rules``).

    ``rules`` maps a channel code to its rule, usually the result of
    :func:`active_rules`. Available at a location is on hand minus reserved.
    """
    available = {
        location: max(0, units - stock.reserved.get(location, 0))
        for location, units in stock.on_hand.items()
    }
    if Mode(mode) is Mode.shared:
        return {
            channel: _view(rule, pool, ratio_base=pool)
            for channel, rule in rules.items()
            for pool in [sum(available.get(location, 0) for location in rule.locations)]
        }
    return _allocate(stock, rules, available)


def _view(rule: ChannelRule, pool: int, *, ratio_base: int) -> int:
    """What a channel may take of ``pool``: less its buffer, then its cap, then its ratio.

    Never more than ``pool``, and never rising by more than one unit per unit of
    pool: a bigger pool therefore never leaves less behind for the channels after it.
    """
    buffer = max(rule.buffer_units, math.ceil(rule.buffer_pct * pool / 100))
    units = max(0, pool - buffer)
    if rule.cap is not None:
        units = min(units, rule.cap)
    if rule.ratio is not None:
        units = min(units, math.floor(rule.ratio * ratio_base))
    return units


def _allocate(
    stock: Stock, rules: Mapping[str, ChannelRule], available: Mapping[str, int]
) -> dict[str, int]:
    """Split the stock on hand between channels in priority order, then net reservations.

    Pass 1 gives each channel, in priority order (then channel code), its view of
    the units on hand that higher-priority channels left; its ratio is measured
    against its whole on-hand pool, so that "30 % for Rakuten" does not shrink
    because Amazon went first. A channel's own reservations are units it has
    already been given, so they come off its allocation. Pass 2, again in
    priority order, clips each channel to the units still actually available at
    its locations, so the figures never add up to more than exists.
    """
    order = sorted(rules, key=lambda channel: (rules[channel].priority, channel))
    drains = _drain_orders(order, rules)
    on_hand = {location: max(0, units) for location, units in stock.on_hand.items()}
    remaining = dict(on_hand)
    wanted: dict[str, int] = {}
    for channel in order:
        locations = drains[channel]
        pool = sum(remaining.get(location, 0) for location in locations)
        full_pool = sum(on_hand.get(location, 0) for location in locations)
        allocation = _view(rules[channel], pool, ratio_base=full_pool)
        _take(remaining, locations, allocation)
        wanted[channel] = max(0, allocation - stock.reserved_by_channel.get(channel, 0))

    free = dict(available)
    granted: dict[str, int] = {}
    for channel in order:
        locations = drains[channel]
        granted[channel] = min(wanted[channel], sum(free.get(loc, 0) for loc in locations))
        _take(free, locations, granted[channel])
    return {channel: granted[channel] for channel in rules}


def _drain_orders(order: Sequence[str], rules: Mapping[str, ChannelRule]) -> dict[str, list[str]]:
    """For each channel, the order in which it takes units from its locations.

    A channel first drains the locations no later channel can use (Amazon takes
    from FBA before the shared warehouse), then those whose most important later
    claimant matters least, then by location code. Plain code order would let a
    channel eat shared stock while its own warehouse sits full. Looking only at
    *later* channels keeps the higher ones independent of the lower ones: a
    channel never gets fewer units because a lower-priority channel exists.
    """
    drains: dict[str, list[str]] = {}
    for index, channel in enumerate(order):
        later = order[index + 1 :]

        def next_claimant(location: str, later: Sequence[str] = later) -> int:
            return next(
                (rank for rank, other in enumerate(later) if location in rules[other].locations),
                len(later),
            )

        drains[channel] = sorted(
            rules[channel].locations, key=lambda loc: (-next_claimant(loc), loc)
        )
    return drains


def _take(counts: MutableMapping[str, int], locations: Iterable[str], units: int) -> None:
    """Deduct ``units`` from ``counts`` over ``locations`` in the order given."""
    for location in locations:
        taken = min(units, counts.get(location, 0))
        if taken:
            counts[location] -= taken
            units -= taken
