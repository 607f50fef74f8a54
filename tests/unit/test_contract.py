"""The data contract: its document is generated from the code, and headers find their entity."""

from __future__ import annotations

from pathlib import Path

from soko.data.contract import ENTITIES, detect_entity, load_order, render_markdown
from soko.store.tables import Base

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-contract.md"


def test_the_data_contract_document_matches_the_code() -> None:
    assert DOC.read_text(encoding="utf-8") == render_markdown(), (
        "docs/data-contract.md is stale: run `make contract`"
    )


def test_every_entity_is_recognised_from_its_own_full_header_and_from_its_required_columns() -> (
    None
):
    for entity in ENTITIES:
        assert detect_entity(list(entity.names)) is entity
        assert detect_entity(sorted(entity.required)) is entity, entity.name


def test_entities_load_after_what_they_reference() -> None:
    order = [e.name for e in load_order()]
    for entity in ENTITIES:
        for column in entity.columns:
            if column.references:
                target = column.references.split(".")[0]
                assert order.index(target) <= order.index(entity.name), (entity.name, target)


def test_every_entity_has_a_table_in_the_store() -> None:
    tables = set(Base.metadata.tables)
    stored_as = {
        "products": "skus",
        "stock": "balances",
        "purchase_orders": "purchase_order_lines",
    }
    for entity in ENTITIES:
        assert stored_as.get(entity.name, entity.name) in tables, entity.name
