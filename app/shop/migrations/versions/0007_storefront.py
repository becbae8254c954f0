"""Product pictures, found by the fingerprint in their URL.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "product_images",
        sa.Column("product_id", sa.Integer(), sa.ForeignKey("products.id", name="fk_product_images_product_id_products",
                                                            ondelete="CASCADE"), nullable=False),
        sa.Column("fingerprint", sa.String(16), nullable=False),
        sa.Column("svg", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", name="pk_product_images"),
    )
    op.create_index("ix_product_images_fingerprint", "product_images", ["fingerprint"])


def downgrade():
    op.drop_table("product_images")
