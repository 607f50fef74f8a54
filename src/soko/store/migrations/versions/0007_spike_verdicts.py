"""a spike tag keeps the reviewer's verdict: a one-off left out, or real demand kept

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Tags written before this revision were all one-offs.
    with op.batch_alter_table("forecast_spike_tags", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("leave_out", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("forecast_spike_tags", schema=None) as batch_op:
        batch_op.drop_column("leave_out")
