"""Shipments and their carrier events, and the sandbox carrier's parcels and journeys.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

import shop.columns

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "shipments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("route", sa.JSON(), nullable=False),
        sa.Column("eta", shop.columns.UtcDateTime(timezone=True), nullable=True),
        sa.Column("failure_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", shop.columns.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shop.columns.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_shipments_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
        sa.UniqueConstraint("order_id", name=op.f("uq_shipments_order_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_shipments_reference")),
        sa.UniqueConstraint("tracking_number", name=op.f("uq_shipments_tracking_number")),
    )
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipments_status"), ["status"], unique=False)

    op.create_table(
        "shipment_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("carrier_event_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("at", shop.columns.UtcDateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=100), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("received_at", shop.columns.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["shipment_id"], ["shipments.id"],
                                name=op.f("fk_shipment_events_shipment_id_shipments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_events")),
        sa.UniqueConstraint("shipment_id", "carrier_event_id", name="uq_shipment_events_carrier_event"),
    )
    with op.batch_alter_table("shipment_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipment_events_shipment_id"), ["shipment_id"], unique=False)

    op.create_table(
        "sandbox_parcels",
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=False),
        sa.Column("scenario", sa.String(length=24), nullable=True),
        sa.Column("booked_at", shop.columns.UtcDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", shop.columns.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_sandbox_parcels")),
        sa.UniqueConstraint("tracking_number", name=op.f("uq_sandbox_parcels_tracking_number")),
    )
    op.create_table(
        "sandbox_tracking_events",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("location", sa.String(length=100), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("due_at", shop.columns.UtcDateTime(timezone=True), nullable=False),
        sa.Column("emitted_at", shop.columns.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tracking_number"], ["sandbox_parcels.tracking_number"],
                                name=op.f("fk_sandbox_tracking_events_tracking_number_sandbox_parcels")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_tracking_events")),
    )
    with op.batch_alter_table("sandbox_tracking_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sandbox_tracking_events_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sandbox_tracking_events_tracking_number"), ["tracking_number"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("sandbox_tracking_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_tracking_events_tracking_number"))
        batch_op.drop_index(batch_op.f("ix_sandbox_tracking_events_due_at"))
    op.drop_table("sandbox_tracking_events")
    op.drop_table("sandbox_parcels")
    with op.batch_alter_table("shipment_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_events_shipment_id"))
    op.drop_table("shipment_events")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipments_status"))
    op.drop_table("shipments")
