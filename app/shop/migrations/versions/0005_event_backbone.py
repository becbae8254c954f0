"""The event backbone: consumers' inboxes, dead letters, and the audit consumer's order event log.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from shop.columns import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "event_inbox",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("consumer", sa.String(64), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("processed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_inbox")),
        sa.UniqueConstraint("consumer", "event_id", name=op.f("uq_event_inbox_consumer")),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("consumer", sa.String(64), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", UtcDateTime(), nullable=False),
        sa.Column("last_failed_at", UtcDateTime(), nullable=False),
        sa.Column("replayed_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        sa.UniqueConstraint("consumer", "event_id", name=op.f("uq_dead_letters_consumer")),
    )
    op.create_index(op.f("ix_dead_letters_replayed_at"), "dead_letters", ["replayed_at"])
    op.create_table(
        "order_event_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_event_log")),
        sa.UniqueConstraint("event_id", name=op.f("uq_order_event_log_event_id")),
    )
    op.create_index(op.f("ix_order_event_log_order_id"), "order_event_log", ["order_id"])
    op.create_table(
        "order_event_counts",
        sa.Column("order_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_event_counts")),
    )


def downgrade():
    op.drop_table("order_event_counts")
    op.drop_index(op.f("ix_order_event_log_order_id"), table_name="order_event_log")
    op.drop_table("order_event_log")
    op.drop_index(op.f("ix_dead_letters_replayed_at"), table_name="dead_letters")
    op.drop_table("dead_letters")
    op.drop_table("event_inbox")
