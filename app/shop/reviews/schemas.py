from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictInt

from ..api import PageQuery, Schema
from ..numbers import MAX_ID
from .models import HIGHEST_RATING, LOWEST_RATING

Rating = Annotated[StrictInt, Field(ge=LOWEST_RATING, le=HIGHEST_RATING, description="Stars, 1 to 5")]
Title = Annotated[str, Field(min_length=1, max_length=120)]
Body = Annotated[str, Field(min_length=1, max_length=5000)]
ReviewSort = Literal["newest", "helpful"]
Visibility = Literal["visible", "hidden", "all"]


class NewReview(Schema):
    rating: Rating
    title: Title
    body: Body


class ReviewChange(Schema):
    """PATCH: only the fields sent change; null is refused rather than read as "unchanged"."""

    rating: Rating = None  # type: ignore[assignment]
    title: Title = None  # type: ignore[assignment]
    body: Body = None  # type: ignore[assignment]


class HideReview(Schema):
    reason: str = Field(min_length=1, max_length=200, description="Why the review is hidden; its author sees it")


class ReviewQuery(PageQuery):
    sort: ReviewSort = Field("newest", description="newest first, or most helpful first")


class StaffReviewQuery(PageQuery):
    status: Visibility = "all"
    product_id: int | None = Field(None, ge=1, le=MAX_ID)
    q: str = Field("", max_length=200, description="Words in the title, text or author's e-mail")


class ReviewOut(BaseModel):
    id: int
    product_id: int
    rating: int
    title: str
    body: str
    author_name: str = Field(description="The author's first name and initial")
    verified_purchase: bool = Field(description="Always true: only customers who received the product review it")
    helpful_count: int
    hidden: bool
    hidden_reason: str | None = Field(description="Shown to the review's author and to staff only")
    edited: bool
    created_at: datetime
    updated_at: datetime


class StarCount(BaseModel):
    stars: int
    count: int


class ReviewPage(BaseModel):
    items: list[ReviewOut]
    total: int
    page: int
    per_page: int
    rating_average: float | None = Field(description="Average stars of the visible reviews; null without any")
    rating_count: int
    distribution: list[StarCount] = Field(description="Visible reviews per number of stars, 5 down to 1")


class StaffReviewOut(ReviewOut):
    product_name: str
    author_email: str


class StaffReviewPage(BaseModel):
    items: list[StaffReviewOut]
    total: int
    page: int
    per_page: int


class HelpfulVoteOut(BaseModel):
    review_id: int
    helpful_count: int
    counted: bool = Field(description="False when this shopper had already voted (the count is unchanged)")
