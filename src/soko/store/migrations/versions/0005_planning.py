"""plan runs, replenishment policy lines, the purchase-order list and lifecycle

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'done', 'failed')", name=op.f("ck_plan_runs_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_runs")),
    )
    op.create_table(
        "purchase_order_states",
        sa.Column("purchase_order_id", sa.Integer(), nullable=False),
        sa.Column("plan_run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_run_id"],
            ["plan_runs.id"],
            name=op.f("fk_purchase_order_states_plan_run_id_plan_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["purchase_order_id"],
            ["purchase_orders.id"],
            name=op.f("fk_purchase_order_states_purchase_order_id_purchase_orders"),
        ),
        sa.PrimaryKeyConstraint("purchase_order_id", name=op.f("pk_purchase_order_states")),
    )
    op.create_table(
        "plan_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_run_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("demand_mean", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("demand_sd", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("protection_days", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("lead_time_days", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("service_level", sa.Numeric(precision=6, scale=4), nullable=True),
        sa.Column("safety_stock", sa.Integer(), nullable=False),
        sa.Column("reorder_point", sa.Integer(), nullable=False),
        sa.Column("order_up_to", sa.Integer(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("on_order", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("inventory_position", sa.Integer(), nullable=False),
        sa.Column("recommended_quantity", sa.Integer(), nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("edited_quantity", sa.Integer(), nullable=True),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        sa.Column("edited_by", sa.String(length=120), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("approved_by", sa.String(length=120), nullable=True),
        sa.Column("purchase_order_line_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('staple', 'seasonal')", name=op.f("ck_plan_lines_kind")),
        sa.CheckConstraint(
            "edited_quantity IS NULL OR edited_quantity >= 0",
            name=op.f("ck_plan_lines_edited_quantity"),
        ),
        sa.CheckConstraint("recommended_quantity >= 0", name=op.f("ck_plan_lines_recommended")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_plan_lines_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["plan_run_id"], ["plan_runs.id"], name=op.f("fk_plan_lines_plan_run_id_plan_runs")
        ),
        sa.ForeignKeyConstraint(
            ["purchase_order_line_id"],
            ["purchase_order_lines.id"],
            name=op.f("fk_plan_lines_purchase_order_line_id_purchase_order_lines"),
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_plan_lines_sku_id_skus")),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_plan_lines_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_lines")),
        sa.UniqueConstraint(
            "plan_run_id", "sku_id", "location_id", name=op.f("uq_plan_lines_plan_run_id")
        ),
    )
    op.create_index(op.f("ix_plan_lines_plan_run_id"), "plan_lines", ["plan_run_id"], unique=False)
    op.create_table(
        "purchase_order_line_states",
        sa.Column("purchase_order_line_id", sa.Integer(), nullable=False),
        sa.Column("ordered_quantity", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["purchase_order_line_id"],
            ["purchase_order_lines.id"],
            name=op.f("fk_purchase_order_line_states_purchase_order_line_id_purchase_order_lines"),
        ),
        sa.PrimaryKeyConstraint(
            "purchase_order_line_id", name=op.f("pk_purchase_order_line_states")
        ),
    )


def downgrade() -> None:
    op.drop_table("purchase_order_line_states")
    op.drop_index(op.f("ix_plan_lines_plan_run_id"), table_name="plan_lines")
    op.drop_table("plan_lines")
    op.drop_table("purchase_order_states")
    op.drop_table("plan_runs")
