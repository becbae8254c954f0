"""Storefront review forms: write or edit one's review of a product, and vote a review helpful.
The reviews themselves are listed on the product page (storefront/catalog.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request, url_for
from pydantic import ValidationError

from ..accounts.auth import current_user
from ..reviews import service as reviews
from ..reviews.schemas import NewReview
from .forms import attempt, form_blueprint
from .session import login_first

bp = form_blueprint("review_pages", __name__)

REVIEW_FIELD_HINTS = {"rating": "Choose from 1 to 5 stars.", "title": "Give the review a title, up to 120 characters.",
                      "body": "Write what you think, up to 5000 characters."}


def _posted_review() -> NewReview | None:
    """The review in the form, or None with a sentence flashed for each field that does not fit."""
    try:
        return NewReview.model_validate({"rating": int(request.form["rating"]) if request.form.get(
            "rating", "").isdigit() else request.form.get("rating"), "title": request.form.get("title", ""),
            "body": request.form.get("body", "")})
    except ValidationError as error:
        for name in dict.fromkeys(str(item["loc"][0]) for item in error.errors(include_url=False) if item["loc"]):
            flash(REVIEW_FIELD_HINTS.get(name, "Check the review."), "error")
        return None


def _product_reviews(product_id: int):
    return redirect(url_for("storefront.product", product_id=product_id) + "#reviews")


def _save(save: Callable[[dict[str, Any]], object], product_id: int, thanks: str):
    """Save the posted review (a new one or an edit) and go back to the product's reviews, with a
    sentence on what happened; a review or product that is not there is the 404 page."""
    review = _posted_review()
    if review is not None:
        attempt(lambda: save(review.model_dump()), thanks)
    return _product_reviews(product_id)


@bp.post("/products/<int:product_id>/reviews")
def write(product_id: int):
    customer = current_user()
    if customer is None:
        return login_first("Log in to review what you bought or vote for a review.")
    return _save(lambda fields: reviews.create_review(product_id, customer, fields), product_id,
                 "Thank you: your review is published.")


@bp.post("/reviews/<int:review_id>")
def edit(review_id: int):
    customer = current_user()
    if customer is None:
        return login_first("Log in to review what you bought or vote for a review.")
    product_id = reviews.get_review(review_id, customer)["product_id"]
    return _save(lambda fields: reviews.update_review(review_id, customer, fields), product_id,
                 "Your review is updated.")


@bp.post("/reviews/<int:review_id>/helpful")
def helpful(review_id: int):
    voter = current_user()
    if voter is None:
        return login_first("Log in to review what you bought or vote for a review.")
    product_id = reviews.get_review(review_id, voter)["product_id"]
    attempt(lambda: reviews.vote_helpful(review_id, voter),
            lambda voted: "Thanks for your vote." if voted[1] else "You found this review helpful already.")
    return _product_reviews(product_id)
