"""Reviews, their helpful votes and the products' ratings; staff's stock adjustments.

Revision ID: 0010
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

import shop.columns

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

RATING_COLUMNS = ("rating_count", "rating_sum")


def upgrade():
    # Plain ADD COLUMN (not a batch copy of the table): SQLite keeps the products' search triggers.
    for column in RATING_COLUMNS:
        op.add_column("products", sa.Column(column, sa.Integer(), server_default="0", nullable=False))

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("helpful_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("hidden_at", shop.columns.UtcDateTime(timezone=True), nullable=True),
        sa.Column("hidden_by", sa.Integer(), nullable=True),
        sa.Column("hidden_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", shop.columns.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shop.columns.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_reviews_rating_in_range")),
        sa.CheckConstraint("helpful_count >= 0", name=op.f("ck_reviews_helpful_count_not_negative")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_reviews_product_id_products"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["customer_id"], ["users.id"], name=op.f("fk_reviews_customer_id_users")),
        sa.ForeignKeyConstraint(["hidden_by"], ["users.id"], name=op.f("fk_reviews_hidden_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("product_id", "customer_id", name="uq_reviews_product_customer"),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviews_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_reviews_product_created", ["product_id", "created_at"], unique=False)

    op.create_table(
        "review_votes",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", shop.columns.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["review_id"], ["reviews.id"], name=op.f("fk_review_votes_review_id_reviews"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_review_votes_user_id_users")),
        sa.PrimaryKeyConstraint("review_id", "user_id", name=op.f("pk_review_votes")),
    )

    op.create_table(
        "stock_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("stock_after", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("at", shop.columns.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"],
                                name=op.f("fk_stock_adjustments_product_id_products"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_id"], ["users.id"], name=op.f("fk_stock_adjustments_staff_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_adjustments")),
    )
    with op.batch_alter_table("stock_adjustments", schema=None) as batch_op:
        batch_op.create_index("ix_stock_adjustments_product_at", ["product_id", "at"], unique=False)


def downgrade():
    op.drop_table("stock_adjustments")
    op.drop_table("review_votes")
    op.drop_table("reviews")
    for column in RATING_COLUMNS:
        # SQLite (3.35 and later) drops a column in place, keeping the products' search triggers.
        op.execute(f"ALTER TABLE products DROP COLUMN {column}")
