"""The staff console's review moderation: reviews by visibility and words, hide with a reason, unhide."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from ..accounts.auth import require_staff
from ..api import parse
from ..errors import Problem
from ..reviews import service as reviews
from ..reviews.schemas import HideReview, StaffReviewQuery
from ..storefront.forms import attempt
from . import console_blueprint

bp = console_blueprint("console_reviews", __name__)


def _back():
    return redirect(request.form.get("next") if request.form.get("next", "").startswith("/console/reviews")
                    else url_for(".review_list"))


@bp.get("/reviews")
def review_list():
    args = {key: value for key, value in request.args.items() if value.strip()}
    query = parse(StaffReviewQuery, args, "query")
    items, total = reviews.staff_reviews(query.status, query.page, query.per_page, query.product_id, query.q)
    return render_template("console/reviews.html", reviews=items, total=total, query=query,
                           last_page=max(1, -(-total // query.per_page)))


@bp.post("/reviews/<int:review_id>/hide")
def hide(review_id: int):
    reason = request.form.get("reason", "").strip()
    try:
        parse(HideReview, {"reason": reason}, "body")
    except Problem:
        flash("Give the reason the review is hidden (up to 200 characters).", "error")
        return _back()
    attempt(lambda: reviews.hide_review(review_id, require_staff(), reason), f"Review {review_id} is hidden: {reason}")
    return _back()


@bp.post("/reviews/<int:review_id>/unhide")
def unhide(review_id: int):
    attempt(lambda: reviews.unhide_review(review_id, require_staff()), f"Review {review_id} is shown again.")
    return _back()
