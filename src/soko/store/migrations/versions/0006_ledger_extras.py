"""pre-orders against incoming stock and transfers in transit

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("from_location_id", sa.Integer(), nullable=False),
        sa.Column("to_location_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_transfers_quantity_positive")),
        sa.CheckConstraint(
            "status IN ('in_transit', 'received')", name=op.f("ck_transfers_status")
        ),
        sa.CheckConstraint(
            "from_location_id <> to_location_id", name=op.f("ck_transfers_two_places")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_transfers_sku_id_skus")),
        sa.ForeignKeyConstraint(
            ["from_location_id"],
            ["locations.id"],
            name=op.f("fk_transfers_from_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["to_location_id"],
            ["locations.id"],
            name=op.f("fk_transfers_to_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_transfers_idempotency_key")),
    )
    op.create_index(op.f("ix_transfers_sku_id"), "transfers", ["sku_id"])
    op.create_index(op.f("ix_transfers_status"), "transfers", ["status"])
    op.create_table(
        "preorder_limits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("max_units", sa.Integer(), nullable=False),
        sa.CheckConstraint("max_units >= 0", name=op.f("ck_preorder_limits_max_units")),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["skus.id"], name=op.f("fk_preorder_limits_sku_id_skus")
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_preorder_limits_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preorder_limits")),
        sa.UniqueConstraint("sku_id", "channel_id", name=op.f("uq_preorder_limits_sku_id")),
    )
    op.create_index(op.f("ix_preorder_limits_sku_id"), "preorder_limits", ["sku_id"])
    op.create_table(
        "preorders",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("reservation_id", sa.String(length=32), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_preorders_quantity_positive")),
        sa.CheckConstraint(
            "status IN ('waiting', 'confirmed', 'cancelled')", name=op.f("ck_preorders_status")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_preorders_sku_id_skus")),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_preorders_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name=op.f("fk_preorders_reservation_id_reservations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preorders")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_preorders_idempotency_key")),
    )
    op.create_index(op.f("ix_preorders_sku_id"), "preorders", ["sku_id"])
    op.create_index(op.f("ix_preorders_status"), "preorders", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_preorders_status"), table_name="preorders")
    op.drop_index(op.f("ix_preorders_sku_id"), table_name="preorders")
    op.drop_table("preorders")
    op.drop_index(op.f("ix_preorder_limits_sku_id"), table_name="preorder_limits")
    op.drop_table("preorder_limits")
    op.drop_index(op.f("ix_transfers_status"), table_name="transfers")
    op.drop_index(op.f("ix_transfers_sku_id"), table_name="transfers")
    op.drop_table("transfers")
