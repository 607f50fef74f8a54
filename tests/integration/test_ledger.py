"""The ledger on SQLite and PostgreSQL: movements, reservations, expiry, verify, no oversell."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from soko.data.importer import import_paths
from soko.errors import ErrorCode, SokoError
from soko.ledger import service
from soko.ledger.rules import Mode
from soko.settings import Settings
from soko.store.tables import Balance, Channel, ChannelRuleRow, SetComponent, Sku, table_of
from tests.integration.test_import import write_shop

NOW = dt.datetime(2026, 11, 1, 12, 0)
STOCK = "sku,location_code,on_hand\nTS-BLK-M,wh1,10\nCUP-01,wh1,3\nTS-BLK-L,wh1,0\n"


@pytest.fixture
def shop(store: Settings, engine: Engine, tmp_path: Path) -> Engine:
    folder = write_shop(tmp_path / "shop")
    (folder / "stock.csv").write_text(STOCK, encoding="utf-8")
    import_paths(store, [folder])
    return engine


def available(engine: Engine, sku: str) -> dict[str, int]:
    with engine.connect() as conn:
        return service.availability(conn, sku, mode=Mode.shared, now=NOW)


def reserve(
    engine: Engine,
    qty: int,
    key: str,
    *,
    sku: str = "TS-BLK-M",
    channel: str = "web",
    ttl: int | None = 900,
    now: dt.datetime = NOW,
) -> service.ReservationView:
    with engine.begin() as conn:
        view, _ = service.reserve(
            conn,
            sku=sku,
            channel=channel,
            quantity=qty,
            idempotency_key=key,
            now=now,
            mode=Mode.shared,
            ttl_seconds=ttl,
        )
    return view


def test_an_imported_count_is_a_movement_and_verify_passes(shop: Engine) -> None:
    assert available(shop, "TS-BLK-M") == {"rakuten": 10, "web": 10}
    with shop.connect() as conn:
        assert service.verify(conn) == []


def test_a_reservation_holds_units_from_every_channel_and_confirm_sells_them(shop: Engine) -> None:
    held = reserve(shop, 4, "r1")
    assert held.status == "held"
    assert held.lines == [("wh1", 4)]
    assert available(shop, "TS-BLK-M") == {"rakuten": 6, "web": 6}
    with shop.begin() as conn:
        done = service.confirm(conn, held.id, now=NOW, actor="test")
    assert done.status == "confirmed"
    with shop.connect() as conn:
        [row] = service.balances(conn, "TS-BLK-M", mode=Mode.shared, now=NOW).locations
        assert (row.on_hand, row.reserved, row.available) == (6, 0, 6)
        assert service.verify(conn) == []


def test_the_last_unit_cannot_be_reserved_twice(shop: Engine) -> None:
    reserve(shop, 3, "a", sku="CUP-01")
    with pytest.raises(SokoError) as failed:
        reserve(shop, 1, "b", sku="CUP-01", channel="rakuten")
    assert failed.value.code == ErrorCode.insufficient_stock


def test_replaying_a_reservation_key_returns_the_first_reservation(shop: Engine) -> None:
    first = reserve(shop, 2, "same")
    again = reserve(shop, 2, "same")
    assert again.id == first.id
    assert available(shop, "TS-BLK-M")["web"] == 8


def test_a_hold_expires_after_its_ttl_and_confirm_after_expiry_is_refused(shop: Engine) -> None:
    held = reserve(shop, 5, "cart", ttl=60)
    later = NOW + dt.timedelta(seconds=61)
    with pytest.raises(SokoError) as failed, shop.begin() as conn:
        service.confirm(conn, held.id, now=later, actor="test")
    assert failed.value.code == ErrorCode.reservation_expired
    with shop.begin() as conn:
        assert service.expire_due(conn, later) == 1
        assert service.get_reservation(conn, held.id, later).status == "expired"
        assert service.verify(conn) == []
    assert available(shop, "TS-BLK-M")["web"] == 10


def test_releasing_twice_gives_the_units_back_once(shop: Engine) -> None:
    held = reserve(shop, 5, "r")
    for _ in range(2):
        with shop.begin() as conn:
            assert service.release(conn, held.id, now=NOW).status == "released"
    assert available(shop, "TS-BLK-M")["web"] == 10


@pytest.mark.parametrize("qty", [0, -2])
def test_a_reservation_of_zero_or_negative_units_is_refused(shop: Engine, qty: int) -> None:
    with pytest.raises(SokoError) as failed:
        reserve(shop, qty, f"q{qty}")
    assert failed.value.code == ErrorCode.invalid_quantity


def test_an_adjustment_below_zero_on_hand_is_refused_and_changes_nothing(shop: Engine) -> None:
    with pytest.raises(SokoError) as failed, shop.begin() as conn:
        service.record_movement(
            conn,
            sku="CUP-01",
            location="wh1",
            kind="adjustment",
            quantity=-4,
            idempotency_key="adj",
            actor="t",
            now=NOW,
        )
    assert failed.value.code == ErrorCode.negative_stock
    assert available(shop, "CUP-01")["web"] == 3


def test_an_adjustment_cannot_take_away_reserved_units(shop: Engine) -> None:
    reserve(shop, 2, "r", sku="CUP-01")
    with pytest.raises(SokoError) as failed, shop.begin() as conn:
        service.record_movement(
            conn,
            sku="CUP-01",
            location="wh1",
            kind="write_off",
            quantity=2,
            idempotency_key="w",
            actor="t",
            now=NOW,
        )
    assert failed.value.code == ErrorCode.negative_stock


def test_an_unknown_sku_is_named(shop: Engine) -> None:
    with pytest.raises(SokoError) as failed:
        reserve(shop, 1, "x", sku="NOPE")
    assert failed.value.code == ErrorCode.unknown_sku
    assert "NOPE" in failed.value.message


def test_a_buffer_rule_holds_units_back_from_its_channel_only(shop: Engine) -> None:
    with shop.begin() as conn:
        rakuten = conn.execute(select(Channel.id).where(Channel.code == "rakuten")).scalar_one()
        conn.execute(
            table_of(ChannelRuleRow)
            .insert()
            .values(channel_id=rakuten, location_codes=["wh1"], buffer_units=4)
        )
    assert available(shop, "TS-BLK-M") == {"rakuten": 6, "web": 10}
    with pytest.raises(SokoError):
        reserve(shop, 7, "k", channel="rakuten")


def test_a_set_product_draws_down_its_components(shop: Engine) -> None:
    with shop.begin() as conn:
        ids = dict(conn.execute(select(Sku.code, Sku.id)).all())
        conn.execute(
            table_of(SetComponent).insert(),
            [
                {"set_sku_id": ids["TS-BLK-L"], "component_sku_id": ids["TS-BLK-M"], "quantity": 2},
                {"set_sku_id": ids["TS-BLK-L"], "component_sku_id": ids["CUP-01"], "quantity": 1},
            ],
        )
        moved = service.record_movement(
            conn,
            sku="TS-BLK-L",
            location="wh1",
            kind="sale",
            quantity=2,
            idempotency_key="set",
            actor="t",
            now=NOW,
        )
    assert sorted((m.sku, m.quantity, m.on_hand_after) for m in moved) == [
        ("CUP-01", -2, 1),
        ("TS-BLK-M", -4, 6),
    ]


def test_verify_names_a_balance_that_no_longer_matches_its_movements(shop: Engine) -> None:
    with shop.begin() as conn:
        conn.execute(
            update(Balance)
            .values(on_hand=Balance.on_hand + 1)
            .where(Balance.sku_id == select(Sku.id).where(Sku.code == "CUP-01").scalar_subquery())
        )
    with shop.connect() as conn:
        [diff] = service.verify(conn)
    assert (diff.sku, diff.location, diff.on_hand, diff.rebuilt_on_hand) == ("CUP-01", "wh1", 4, 3)


def test_threads_racing_for_ten_units_reserve_exactly_ten(shop: Engine) -> None:
    won: list[str] = []
    lost: list[ErrorCode] = []

    def client(n: int) -> None:
        for i in range(3):
            try:
                view = reserve(shop, 1, f"t{n}-{i}", channel="web" if n % 2 else "rakuten")
                won.append(view.id)
            except SokoError as exc:
                lost.append(exc.code)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 10
    assert set(lost) == {ErrorCode.insufficient_stock}
    with shop.connect() as conn:
        assert service.verify(conn) == []


def test_in_allocated_mode_a_channel_cannot_take_units_allocated_to_a_higher_priority_one(
    shop: Engine,
) -> None:
    with shop.begin() as conn:
        ids = dict(conn.execute(select(Channel.code, Channel.id)).all())
        conn.execute(
            table_of(ChannelRuleRow).insert(),
            [
                {"channel_id": ids["web"], "location_codes": ["wh1"], "cap": 6, "priority": 1},
                {
                    "channel_id": ids["rakuten"],
                    "location_codes": ["wh1"],
                    "cap": None,
                    "priority": 2,
                },
            ],
        )
    with shop.connect() as conn:
        assert service.availability(conn, "TS-BLK-M", mode=Mode.allocated, now=NOW) == {
            "web": 6,
            "rakuten": 4,
        }
    with shop.begin() as conn:
        service.reserve(
            conn,
            sku="TS-BLK-M",
            channel="rakuten",
            quantity=4,
            idempotency_key="r4",
            now=NOW,
            mode=Mode.allocated,
            ttl_seconds=None,
        )
    with pytest.raises(SokoError) as failed, shop.begin() as conn:
        service.reserve(
            conn,
            sku="TS-BLK-M",
            channel="rakuten",
            quantity=1,
            idempotency_key="r5",
            now=NOW,
            mode=Mode.allocated,
            ttl_seconds=None,
        )
    assert failed.value.code == ErrorCode.insufficient_stock
    with shop.connect() as conn:
        assert service.availability(conn, "TS-BLK-M", mode=Mode.allocated, now=NOW)["web"] == 6
