"""Payment attempts with their own gateway idempotency keys, refunds, the sandbox gateway's
ledger, and leases on Idempotency-Key claims.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import shop.columns

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=64), nullable=True))
    # Attempts made before keys existed get one of their own, so the column can be required.
    op.execute("UPDATE payments SET idempotency_key = 'pay_before_0003_' || id")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.alter_column("idempotency_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("gateway_reference", existing_type=sa.String(length=64), nullable=True)
        batch_op.create_unique_constraint(batch_op.f("uq_payments_idempotency_key"), ["idempotency_key"])

    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("gateway_reference", sa.String(length=64), nullable=True),
        sa.Column("order_status", sa.String(length=24), nullable=True),
        sa.Column("cause", sa.String(length=200), nullable=False),
        sa.Column("created_at", shop.columns.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shop.columns.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_refunds_payment_id_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_refunds_idempotency_key")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_payment_id"), ["payment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refunds_status"), ["status"], unique=False)

    op.create_table(
        "sandbox_charges",
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("failure_reason", sa.String(length=200), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", shop.columns.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_sandbox_charges")),
        sa.UniqueConstraint("reference", name=op.f("uq_sandbox_charges_reference")),
    )

    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locked_until", shop.columns.UtcDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
    op.drop_table("sandbox_charges")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_status"))
        batch_op.drop_index(batch_op.f("ix_refunds_payment_id"))
    op.drop_table("refunds")
    # Attempts that never reached the gateway have no reference to keep.
    op.execute("DELETE FROM payments WHERE gateway_reference IS NULL")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_payments_idempotency_key"), type_="unique")
        batch_op.alter_column("gateway_reference", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("idempotency_key")
