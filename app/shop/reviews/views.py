"""The reviews API: a product's reviews, writing and editing one's own, helpful votes, moderation."""

from __future__ import annotations

from flask import Blueprint

from ..accounts.auth import current_user, require_customer, require_staff
from ..api import operation, page_of
from . import service
from .schemas import (
    HelpfulVoteOut,
    HideReview,
    NewReview,
    ReviewChange,
    ReviewOut,
    ReviewPage,
    ReviewQuery,
    StaffReviewPage,
    StaffReviewQuery,
)

bp = Blueprint("reviews", __name__, url_prefix="/api/v1")


@bp.get("/products/<int:product_id>/reviews")
@operation("A product's visible reviews, newest or most helpful first, with its rating", tags=["reviews"],
           query=ReviewQuery, response=ReviewPage, auth="optional")
def list_reviews(product_id: int, query: ReviewQuery):
    return service.product_reviews(product_id, query.sort, query.page, query.per_page, current_user())


@bp.post("/products/<int:product_id>/reviews")
@operation("Review a product you received (its order delivered), once: 403 if not received, 409 if reviewed",
           tags=["reviews"], body=NewReview, response=ReviewOut, status=201, auth="customer")
def create_review(product_id: int, body: NewReview):
    review = service.create_review(product_id, require_customer(), body.model_dump())
    return review, 201, {"Location": f"{bp.url_prefix}/reviews/{review['id']}"}


@bp.get("/reviews/<int:review_id>")
@operation("One review (a hidden one only for its author and staff)", tags=["reviews"], response=ReviewOut,
           auth="optional")
def show_review(review_id: int):
    return service.get_review(review_id, current_user())


@bp.put("/reviews/<int:review_id>")
@operation("Rewrite your review: stars, title and text", tags=["reviews"], body=NewReview, response=ReviewOut,
           auth="customer")
def replace_review(review_id: int, body: NewReview):
    return service.update_review(review_id, require_customer(), body.model_dump())


@bp.patch("/reviews/<int:review_id>")
@operation("Change your review; only the fields sent change", tags=["reviews"], body=ReviewChange,
           response=ReviewOut, auth="customer")
def change_review(review_id: int, body: ReviewChange):
    return service.update_review(review_id, require_customer(), body.model_dump(exclude_unset=True))


@bp.post("/reviews/<int:review_id>/helpful")
@operation("Vote a review helpful, once per shopper: 201 when counted, 200 when already counted",
           tags=["reviews"], response=HelpfulVoteOut, status=201, auth="customer")
def vote_helpful(review_id: int):
    vote, counted = service.vote_helpful(review_id, require_customer())
    return vote, 201 if counted else 200


@bp.post("/reviews/<int:review_id>/hide")
@operation("Staff: hide a review with a reason (it leaves the product's rating)", tags=["reviews"],
           body=HideReview, response=ReviewOut, auth="staff")
def hide_review(review_id: int, body: HideReview):
    return service.hide_review(review_id, require_staff(), body.reason)


@bp.post("/reviews/<int:review_id>/unhide")
@operation("Staff: show a hidden review again (it counts in the rating again)", tags=["reviews"],
           response=ReviewOut, auth="staff")
def unhide_review(review_id: int):
    return service.unhide_review(review_id, require_staff())


@bp.get("/staff/reviews")
@operation("Staff: reviews to moderate, newest first, by visibility, product and words", tags=["reviews"],
           query=StaffReviewQuery, response=StaffReviewPage, auth="staff")
def staff_reviews(query: StaffReviewQuery):
    items, total = service.staff_reviews(query.status, query.page, query.per_page, query.product_id, query.q)
    return page_of(items, total, query)
