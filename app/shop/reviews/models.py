"""Reviews of products and the helpful votes they receive."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..columns import UtcDateTime, utcnow
from ..extensions import BaseModel

# Stars a review gives.
LOWEST_RATING = 1
HIGHEST_RATING = 5


class Review(BaseModel):
    """One customer's review of one product; hidden (with the staff's reason) it stops counting."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("product_id", "customer_id", name="uq_reviews_product_customer"),
        CheckConstraint(f"rating BETWEEN {LOWEST_RATING} AND {HIGHEST_RATING}", name="rating_in_range"),
        CheckConstraint("helpful_count >= 0", name="helpful_count_not_negative"),
        Index("ix_reviews_product_created", "product_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    rating: Mapped[int]
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    helpful_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set while staff hide the review: when, by whom, and the reason its author is shown.
    hidden_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    hidden_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hidden_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    author: Mapped[User] = relationship(foreign_keys=[customer_id], lazy="joined")


class ReviewVote(BaseModel):
    """A shopper found a review helpful; once per shopper and review."""

    __tablename__ = "review_votes"

    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
