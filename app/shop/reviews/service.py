"""Reviews: who may review what, writing and editing reviews, helpful votes, moderation, and the
product's rating.

A product's rating_count and rating_sum are the count and the sum of the stars of its visible
(not hidden) reviews. Every change that could alter them (a new review, an edit of the stars,
hiding, unhiding) runs in one transaction that first takes the product's row lock, then makes the
change, then recounts the visible reviews by aggregate: a concurrent change waits for the lock
and, once it has it, its recount (a later statement, so a fresh snapshot) sees the first change
committed. The figures are never adjusted by increments, so they cannot drift.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..catalog.cache import invalidate_products
from ..catalog.models import Product, rating_average
from ..catalog.service import get_product
from ..columns import utcnow
from ..database import matched
from ..errors import Conflict, NotFound, Problem
from ..extensions import db
from ..numbers import MAX_ID
from ..orders import states
from ..orders.models import Order, OrderLine, OrderTransition
from ..payments.models import insert_once
from .models import HIGHEST_RATING, LOWEST_RATING, Review, ReviewVote

ORDERINGS = {
    "newest": (Review.created_at.desc(), Review.id.desc()),
    "helpful": (Review.helpful_count.desc(), Review.created_at.desc(), Review.id.desc()),
}


def author_name(name: str) -> str:
    """"Ada Lovelace" -> "Ada L.": enough to tell reviewers apart, not enough to find them."""
    words = name.split()
    if not words:
        return "A customer"
    return words[0] if len(words) == 1 else f"{words[0]} {words[-1][0]}."


def review_document(review: Review, viewer: User | None = None) -> dict[str, Any]:
    """The review as the API answers it; the reason it is hidden only for its author and staff."""
    privileged = viewer is not None and (viewer.is_staff or viewer.id == review.customer_id)
    return {
        "id": review.id, "product_id": review.product_id, "rating": review.rating, "title": review.title,
        "body": review.body, "author_name": author_name(review.author.name), "verified_purchase": True,
        "helpful_count": review.helpful_count, "hidden": review.hidden_at is not None,
        "hidden_reason": review.hidden_reason if privileged else None,
        "edited": review.updated_at > review.created_at,
        "created_at": review.created_at.isoformat(), "updated_at": review.updated_at.isoformat(),
    }


# --- the product's rating -----------------------------------------------------------------------

def _lock_product(product_id: int) -> None:
    """Take the product's row lock for this transaction (on SQLite, the database's write lock)."""
    locked = matched(db.session.execute(
        update(Product).where(Product.id == product_id)
        .values(rating_count=Product.rating_count, updated_at=Product.updated_at)
        .execution_options(synchronize_session=False)
    ))
    if locked != 1:
        db.session.rollback()
        raise NotFound("Product", product_id)


def _recount(product_id: int) -> None:
    """Set the product's rating from its visible reviews (the caller holds the product's lock)."""
    count, stars = db.session.execute(
        select(func.count(Review.id), func.coalesce(func.sum(Review.rating), 0))
        .where(Review.product_id == product_id, Review.hidden_at.is_(None))
    ).one()
    db.session.execute(
        update(Product).where(Product.id == product_id)
        .values(rating_count=count, rating_sum=stars, updated_at=Product.updated_at)
        .execution_options(synchronize_session=False)
    )


def _commit_rating_change(product_id: int) -> None:
    _recount(product_id)
    db.session.commit()
    invalidate_products([product_id])


# --- who may review -----------------------------------------------------------------------------

def _received(product_id: int, customer_id: int) -> Select[tuple[int]]:
    """The customer's orders of the product that were delivered (delivered, completed, or delivered
    and later refunded: they had it in their hands)."""
    delivered_once = exists().where(OrderTransition.order_id == Order.id,
                                    OrderTransition.to_status == states.DELIVERED)
    return (select(Order.id).join(OrderLine, OrderLine.order_id == Order.id)
            .where(OrderLine.product_id == product_id, Order.customer_id == customer_id,
                   or_(Order.status.in_((states.DELIVERED, states.COMPLETED)), delivered_once)))


def ineligibility(product_id: int, customer: User) -> str | None:
    """Why the customer may not review the product, or None if they may."""
    if db.session.scalar(_received(product_id, customer.id).limit(1)) is not None:
        return None
    pending = db.session.execute(
        select(Order.id, Order.status).join(OrderLine, OrderLine.order_id == Order.id)
        .where(OrderLine.product_id == product_id, Order.customer_id == customer.id)
        .order_by(Order.id.desc()).limit(1)
    ).first()
    if pending is None:
        return "Only customers who received this product can review it, and you have not ordered it."
    order_id, status = pending
    return (f"Your order {order_id} of this product is {status.replace('_', ' ')}; you can review the "
            "product once it has been delivered.")


def _refuse_if_ineligible(product_id: int, customer: User) -> None:
    reason = ineligibility(product_id, customer)
    if reason is not None:
        db.session.rollback()
        raise Problem(403, "Not eligible to review", reason, type_="review-not-eligible", product_id=product_id)


def review_status(product_id: int, customer: User | None) -> dict[str, Any]:
    """For a product page: the customer's own review, else whether (and why not) they may write one."""
    if customer is None:
        return {"review": None, "may_review": False, "reason": None}
    review = db.session.scalar(select(Review).where(Review.product_id == product_id,
                                                    Review.customer_id == customer.id))
    reason = None if review is not None else ineligibility(product_id, customer)
    status = {"review": review_document(review, customer) if review else None,
              "may_review": review is None and reason is None, "reason": reason}
    db.session.commit()
    return status


# --- writing ------------------------------------------------------------------------------------

def create_review(product_id: int, customer: User, fields: dict[str, Any], now: datetime | None = None
                  ) -> dict[str, Any]:
    """The customer's one review of a product they received; the product's rating follows."""
    now = now or utcnow()
    get_product(product_id)
    _lock_product(product_id)
    _refuse_if_ineligible(product_id, customer)
    existing = db.session.scalar(select(Review.id).where(Review.product_id == product_id,
                                                         Review.customer_id == customer.id))
    if existing is not None:
        db.session.rollback()
        raise Problem(409, "Conflict", f"You have reviewed product {product_id} already (review {existing}); "
                      "edit that one.", type_="already-reviewed", review_id=existing)
    review = Review(product_id=product_id, customer_id=customer.id, created_at=now, updated_at=now, **fields)
    db.session.add(review)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Problem(409, "Conflict", f"You have reviewed product {product_id} already; edit that review.",
                      type_="already-reviewed") from None
    document = review_document(review, customer)
    _commit_rating_change(product_id)
    return document


def find_review(review_id: int, viewer: User | None) -> Review:
    """The review if the viewer may see it: a hidden one only by its author and staff."""
    review = db.session.get(Review, review_id) if 0 < review_id <= MAX_ID else None
    visible = review is not None and (review.hidden_at is None or (
        viewer is not None and (viewer.is_staff or viewer.id == review.customer_id)))
    if review is None or not visible:
        db.session.rollback()
        raise NotFound("Review", review_id)
    return review


def get_review(review_id: int, viewer: User | None) -> dict[str, Any]:
    document = review_document(find_review(review_id, viewer), viewer)
    db.session.commit()
    return document


def update_review(review_id: int, customer: User, changes: dict[str, Any], now: datetime | None = None
                  ) -> dict[str, Any]:
    """The author edits their review (stars, title, text); a hidden review stays hidden."""
    now = now or utcnow()
    review = find_review(review_id, customer)
    if review.customer_id != customer.id:
        db.session.rollback()
        raise Problem(403, "Forbidden", "Only its author may edit a review.", type_="not-your-review")
    product_id = review.product_id
    _lock_product(product_id)
    db.session.refresh(review)
    for name, value in changes.items():
        setattr(review, name, value)
    review.updated_at = now
    db.session.flush()
    document = review_document(review, customer)
    _commit_rating_change(product_id)
    return document


def vote_helpful(review_id: int, voter: User, now: datetime | None = None) -> tuple[dict[str, Any], bool]:
    """Count the voter's "helpful" once; the vote and whether it was new."""
    review = find_review(review_id, voter)
    if review.customer_id == voter.id:
        db.session.rollback()
        raise Problem(403, "Forbidden", "You cannot vote for your own review.", type_="own-review")
    counted = db.session.execute(
        insert_once(ReviewVote, review_id=review.id, user_id=voter.id, at=now or utcnow())
        .returning(ReviewVote.review_id)).first() is not None
    if counted:
        db.session.execute(update(Review).where(Review.id == review.id)
                           .values(helpful_count=Review.helpful_count + 1)
                           .execution_options(synchronize_session=False))
    helpful = db.session.scalar(select(Review.helpful_count).where(Review.id == review.id))
    db.session.commit()
    return {"review_id": review.id, "helpful_count": helpful, "counted": counted}, counted


# --- moderation ---------------------------------------------------------------------------------

def _moderate(review_id: int, hidden: bool, staff: User, reason: str | None, now: datetime) -> dict[str, Any]:
    review = find_review(review_id, staff)
    product_id = review.product_id
    _lock_product(product_id)
    db.session.refresh(review)
    if (review.hidden_at is not None) == hidden:
        db.session.rollback()
        state = "hidden" if hidden else "visible"
        raise Conflict(f"Review {review_id} is {state} already.", current_status=state)
    review.hidden_at, review.hidden_by, review.hidden_reason = (now, staff.id, reason) if hidden else (None, None, None)
    db.session.flush()
    document = review_document(review, staff)
    _commit_rating_change(product_id)
    return document


def hide_review(review_id: int, staff: User, reason: str, now: datetime | None = None) -> dict[str, Any]:
    """Staff take a review out of sight (and out of the rating); its author sees the reason."""
    return _moderate(review_id, True, staff, reason, now or utcnow())


def unhide_review(review_id: int, staff: User, now: datetime | None = None) -> dict[str, Any]:
    return _moderate(review_id, False, staff, None, now or utcnow())


# --- reading ------------------------------------------------------------------------------------

def product_reviews(product_id: int, sort: str, page: int, per_page: int, viewer: User | None = None
                    ) -> dict[str, Any]:
    """A page of the product's visible reviews, with its rating and how many reviews give each star."""
    product = get_product(product_id)
    visible = select(Review).where(Review.product_id == product_id, Review.hidden_at.is_(None))
    reviews = db.session.scalars(visible.order_by(*ORDERINGS[sort]).offset((page - 1) * per_page).limit(per_page))
    items = [review_document(review, viewer) for review in reviews]
    stars = dict(db.session.execute(
        select(Review.rating, func.count()).where(Review.product_id == product_id, Review.hidden_at.is_(None))
        .group_by(Review.rating)
    ).tuples().all())
    document = {
        "items": items, "total": product.rating_count, "page": page, "per_page": per_page,
        "rating_average": rating_average(product.rating_sum, product.rating_count),
        "rating_count": product.rating_count,
        "distribution": [{"stars": count, "count": stars.get(count, 0)}
                         for count in range(HIGHEST_RATING, LOWEST_RATING - 1, -1)],
    }
    db.session.commit()
    return document


def staff_reviews(status: str, page: int, per_page: int, product_id: int | None = None, q: str = ""
                  ) -> tuple[list[dict[str, Any]], int]:
    """Reviews for moderation, newest first, by visibility, product and words in them."""
    query = select(Review, Product.name, User.email).join(Product, Product.id == Review.product_id) \
        .join(User, User.id == Review.customer_id)
    if status == "visible":
        query = query.where(Review.hidden_at.is_(None))
    elif status == "hidden":
        query = query.where(Review.hidden_at.is_not(None))
    if product_id is not None:
        query = query.where(Review.product_id == product_id)
    for word in q.split():
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Review.title.ilike(pattern, escape="\\"), Review.body.ilike(pattern, escape="\\"),
                                User.email.ilike(pattern, escape="\\")))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.execute(query.order_by(Review.created_at.desc(), Review.id.desc())
                              .offset((page - 1) * per_page).limit(per_page)).all()
    items = [{**review_document(review, None), "hidden_reason": review.hidden_reason, "product_name": name,
              "author_email": email} for review, name, email in rows]
    db.session.commit()
    return items, total or 0
