"""forecast runs, their forecasts and accuracy

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forecast_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("plan_run_id", sa.Integer(), nullable=True),
        sa.Column("model_counts", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_runs")),
    )
    with op.batch_alter_table("forecast_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forecast_runs_plan_run_id"), ["plan_run_id"], unique=False
        )
    op.create_table(
        "forecast_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=40), nullable=False),
        sa.Column("demand_class", sa.String(length=16), nullable=False),
        sa.Column("history_days", sa.Integer(), nullable=False),
        sa.Column("censored_days", sa.Integer(), nullable=False),
        sa.Column("spike_days", sa.Integer(), nullable=False),
        sa.Column("scaled_error", sa.Double(), nullable=True),
        sa.Column("naive_error", sa.Double(), nullable=True),
        sa.Column("seasonal_naive_error", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["forecast_runs.id"],
            name=op.f("fk_forecast_series_run_id_forecast_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["skus.id"], name=op.f("fk_forecast_series_sku_id_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_series")),
        sa.UniqueConstraint("run_id", "sku_id", name=op.f("uq_forecast_series_run_id")),
    )
    op.create_table(
        "forecast_daily",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("ds", sa.Date(), nullable=False),
        sa.Column("mean", sa.Double(), nullable=False),
        sa.Column("sd", sa.Double(), nullable=False),
        sa.Column("q10", sa.Integer(), nullable=False),
        sa.Column("q50", sa.Integer(), nullable=False),
        sa.Column("q80", sa.Integer(), nullable=False),
        sa.Column("q90", sa.Integer(), nullable=False),
        sa.Column("q95", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["forecast_runs.id"],
            name=op.f("fk_forecast_daily_run_id_forecast_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["skus.id"], name=op.f("fk_forecast_daily_sku_id_skus")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_forecast_daily_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_daily")),
    )
    with op.batch_alter_table("forecast_daily", schema=None) as batch_op:
        batch_op.create_index("ix_forecast_daily_run_id_sku_id", ["run_id", "sku_id"], unique=False)
    op.create_table(
        "forecast_spike_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["skus.id"], name=op.f("fk_forecast_spike_tags_sku_id_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_spike_tags")),
        sa.UniqueConstraint("sku_id", "day", name=op.f("uq_forecast_spike_tags_sku_id")),
    )
    op.create_table(
        "sales_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.CheckConstraint("units >= 0", name=op.f("ck_sales_plans_units")),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_sales_plans_period")),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_sales_plans_sku_id_skus")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_plans")),
        sa.UniqueConstraint("sku_id", "starts_on", name=op.f("uq_sales_plans_sku_id")),
    )


def downgrade() -> None:
    op.drop_table("sales_plans")
    op.drop_table("forecast_spike_tags")
    with op.batch_alter_table("forecast_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_forecast_daily_run_id_sku_id")
    op.drop_table("forecast_daily")
    op.drop_table("forecast_series")
    with op.batch_alter_table("forecast_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forecast_runs_plan_run_id"))
    op.drop_table("forecast_runs")
