"""The product page's reviews and review forms: an eligible customer writes and edits a review,
anyone else is told why they cannot, forms carry the CSRF token, and the rating shows on the
listing and the page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from shop.extensions import db
from shop.models import Product
from shop.reviews.models import Review

from .factories import make_category, make_order, make_past_order, make_product, make_user
from .test_dead_letters import log_in

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM = {"rating": "5", "title": "Lovely pan", "body": "Even heat, easy to season."}


@pytest.fixture
def pan(app):
    return make_product(make_category("Kitchen"), name="Cast Iron Frying Pan").id


def product_page(client, product_id: int) -> str:
    return client.get(f"/products/{product_id}").get_data(as_text=True)


def write(client, product_id: int, **fields):
    token = CSRF.search(product_page(client, product_id)).group(1)
    return client.post(f"/products/{product_id}/reviews", data={**FORM, **fields, "csrf_token": token})


@pytest.fixture
def customer(client, pan):
    user = make_user(name="Ada Lovelace")
    make_past_order(user, [(db.session.get(Product, pan), 1)], status="delivered")
    log_in(client, user)
    return user


def test_an_eligible_customer_sees_the_review_form(client, pan, customer):
    assert 'data-test="review-form"' in product_page(client, pan)


def test_a_customer_writes_a_review_from_the_product_page(client, pan, customer):
    response = write(client, pan)
    assert response.status_code == 302
    page = product_page(client, pan)
    assert "Lovely pan" in page and "Ada L." in page
    assert 'data-rating-average="5.0" data-rating-count="1"' in page
    listing = client.get("/products").get_data(as_text=True)
    assert 'data-rating-average="5.0" data-rating-count="1"' in listing


def test_the_customer_edits_their_review_from_the_same_form(client, pan, customer):
    write(client, pan)
    review_id = db.session.scalar(select(Review.id))
    token = CSRF.search(product_page(client, pan)).group(1)
    client.post(f"/reviews/{review_id}", data={**FORM, "rating": "3", "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Review, review_id).rating == 3
    assert "Update your review" in product_page(client, pan)


def test_a_review_post_without_the_token_is_refused(client, pan, customer):
    response = client.post(f"/products/{pan}/reviews", data=FORM)
    assert response.status_code == 400
    assert db.session.scalars(select(Review)).all() == []


@pytest.mark.parametrize(("field", "value", "hint"), [("rating", "9", "Choose from 1 to 5 stars."),
                                                      ("title", "", "Give the review a title")])
def test_a_review_that_does_not_fit_says_why(client, pan, customer, field, value, hint):
    write(client, pan, **{field: value})
    assert hint in product_page(client, pan)
    assert db.session.scalars(select(Review)).all() == []


def test_a_customer_whose_order_is_not_delivered_is_told_why(client, pan):
    user = make_user()
    order = make_order(user, (db.session.get(Product, pan), 1), status="shipped")
    log_in(client, user)
    page = product_page(client, pan)
    assert 'data-test="review-form"' not in page
    assert f"Your order {order['id']} of this product is shipped" in page


def test_a_visitor_is_asked_to_log_in_to_review(client, pan):
    assert "to review a product you received" in product_page(client, pan)


def test_a_shopper_votes_a_review_helpful_from_the_page(client, pan, customer):
    write(client, pan)
    review_id = db.session.scalar(select(Review.id))
    client.post("/logout", data={"csrf_token": CSRF.search(product_page(client, pan)).group(1)})
    log_in(client, make_user())
    token = CSRF.search(product_page(client, pan)).group(1)
    client.post(f"/reviews/{review_id}/helpful", data={"csrf_token": token})
    client.post(f"/reviews/{review_id}/helpful", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Review, review_id).helpful_count == 1


def test_the_listing_sorts_by_customer_rating(client, pan, customer):
    make_product(name="Unrated Whisk")
    write(client, pan)
    body = client.get("/products", query_string={"sort": "rating"}).get_data(as_text=True)
    assert re.findall(r'data-test="product-card" data-product-id="(\d+)"', body)[0] == str(pan)
    assert '<option value="rating" selected>' in body
