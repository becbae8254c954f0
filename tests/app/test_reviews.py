"""Reviews and ratings through the API: who may review, one review each, edits, helpful votes,
moderation, and the product's rating_average / rating_count kept exactly equal to its visible
reviews, also under concurrent reviews, edits and hiding (on PostgreSQL, over real HTTP: each
request its own session)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from shop.catalog.models import Product
from shop.extensions import db
from shop.reviews.models import Review

from .factories import auth_headers, make_category, make_order, make_past_order, make_product, make_user

REVIEW = {"rating": 4, "title": "Heavy and even", "body": "Sears a steak beautifully; mind the weight."}


def received(product, customer=None, status: str = "delivered"):
    """A customer whose order of `product` is in `status` (delivered unless said)."""
    customer = customer or make_user(name="Ada Lovelace")
    make_past_order(customer, [(product, 1)], status=status)
    return customer


def post_review(client, product_id: int, customer, **fields):
    return client.post(f"/api/v1/products/{product_id}/reviews", json={**REVIEW, **fields},
                       headers=auth_headers(customer))


def rating_of(product_id: int) -> tuple[float | None, int]:
    """The product's rating as the catalog API would answer it, read fresh."""
    db.session.expire_all()
    product = db.session.get(Product, product_id)
    return (round(product.rating_sum / product.rating_count, 2) if product.rating_count else None,
            product.rating_count)


def visible_rating(product_id: int) -> tuple[float | None, int]:
    """The rating recomputed from the visible reviews themselves."""
    stars = db.session.scalars(select(Review.rating).where(Review.product_id == product_id,
                                                           Review.hidden_at.is_(None))).all()
    return (round(sum(stars) / len(stars), 2) if stars else None, len(stars))


@pytest.fixture
def pan(app):
    return make_product(make_category("Kitchen"), name="Cast Iron Frying Pan")


# --- writing --------------------------------------------------------------------------------------

def test_a_customer_who_received_the_product_reviews_it(client, pan):
    response = post_review(client, pan.id, received(pan))
    assert response.status_code == 201
    assert response.headers["Location"] == f"/api/v1/reviews/{response.json['id']}"
    assert (response.json["rating"], response.json["title"]) == (4, "Heavy and even")
    assert response.json["author_name"] == "Ada L."
    assert response.json["verified_purchase"] is True


@pytest.mark.parametrize("status", ["completed", "refunded_after_delivery"])
def test_a_completed_or_delivered_then_refunded_order_counts_as_received(client, pan, status):
    customer = make_user()
    if status == "completed":
        make_past_order(customer, [(pan, 1)], status="completed")
    else:
        from shop.models import OrderTransition

        order = make_past_order(customer, [(pan, 1)], status="refunded")
        db.session.add(OrderTransition(order_id=order.id, from_status="shipped", to_status="delivered",
                                       cause="carrier"))
        db.session.commit()
    assert post_review(client, pan.id, customer).status_code == 201


@pytest.mark.parametrize("status", ["pending_payment", "paid", "shipped", "cancelled"])
def test_an_order_not_delivered_is_refused_with_its_reason(client, pan, status):
    customer = make_user()
    order = make_order(customer, (pan, 1), status=status)
    response = post_review(client, pan.id, customer)
    assert response.status_code == 403
    assert response.json["type"].endswith("/review-not-eligible")
    assert f"order {order['id']}" in response.json["detail"]
    assert status.replace("_", " ") in response.json["detail"]


def test_a_customer_who_never_ordered_the_product_is_refused(client, pan):
    response = post_review(client, pan.id, make_user())
    assert response.status_code == 403
    assert "not ordered it" in response.json["detail"]


def test_a_delivered_order_of_another_product_does_not_count(client, pan):
    customer = received(make_product())
    assert post_review(client, pan.id, customer).status_code == 403


def test_a_second_review_of_the_same_product_is_a_conflict(client, pan):
    customer = received(pan)
    first = post_review(client, pan.id, customer)
    second = post_review(client, pan.id, customer, rating=1)
    assert second.status_code == 409
    assert second.json["type"].endswith("/already-reviewed")
    assert second.json["review_id"] == first.json["id"]
    assert rating_of(pan.id) == (4.0, 1)


@pytest.mark.parametrize(("fields", "field"), [
    ({"rating": 0}, "rating"), ({"rating": 6}, "rating"), ({"rating": "5"}, "rating"), ({"rating": 4.5}, "rating"),
    ({"title": ""}, "title"), ({"title": "x" * 121}, "title"), ({"body": ""}, "body"), ({"body": "x" * 5001}, "body"),
    ({"stars": 5}, "stars"),
])
def test_a_bad_review_is_a_422_naming_the_field(client, pan, fields, field):
    response = post_review(client, pan.id, received(pan), **fields)
    assert response.status_code == 422
    assert response.json["field"] == field


def test_reviewing_an_unknown_product_is_a_404(client, app):
    assert post_review(client, 999_999, make_user()).status_code == 404


# --- the access matrix --------------------------------------------------------------------------

@pytest.fixture
def reviewed(client, pan):
    """A visible review of the pan and the customers around it."""
    author = received(pan)
    review_id = post_review(client, pan.id, author).json["id"]
    return {"review": review_id, "author": author, "product": pan.id}


def ask(client, reviewed, action: str, who):
    headers = auth_headers(who) if who is not None else {}
    review, product = reviewed["review"], reviewed["product"]
    return {
        "list": lambda: client.get(f"/api/v1/products/{product}/reviews", headers=headers),
        "show": lambda: client.get(f"/api/v1/reviews/{review}", headers=headers),
        "put": lambda: client.put(f"/api/v1/reviews/{review}", json=REVIEW, headers=headers),
        "patch": lambda: client.patch(f"/api/v1/reviews/{review}", json={"rating": 5}, headers=headers),
        "helpful": lambda: client.post(f"/api/v1/reviews/{review}/helpful", headers=headers),
        "hide": lambda: client.post(f"/api/v1/reviews/{review}/hide", json={"reason": "spoiler"}, headers=headers),
        "unhide": lambda: client.post(f"/api/v1/reviews/{review}/unhide", headers=headers),
        "moderation": lambda: client.get("/api/v1/staff/reviews", headers=headers),
    }[action]()


@pytest.mark.parametrize(("action", "expected"), [
    # action: (anonymous, author, another customer, staff)
    ("list", (200, 200, 200, 200)),
    ("show", (200, 200, 200, 200)),
    ("put", (401, 200, 403, 403)),
    ("patch", (401, 200, 403, 403)),
    ("helpful", (401, 403, 201, 201)),
    ("hide", (401, 403, 403, 200)),
    ("unhide", (401, 403, 403, 409)),
    ("moderation", (401, 403, 403, 200)),
])
@pytest.mark.parametrize("who", ["anonymous", "author", "customer", "staff"])
def test_who_may_do_what_with_a_review(client, reviewed, action, expected, who):
    user = {"anonymous": None, "author": reviewed["author"], "customer": make_user(),
            "staff": make_user("staff")}[who]
    status = expected[["anonymous", "author", "customer", "staff"].index(who)]
    assert ask(client, reviewed, action, user).status_code == status


@pytest.mark.parametrize(("who", "status"), [("anonymous", 404), ("customer", 404), ("author", 200), ("staff", 200)])
def test_a_hidden_review_is_seen_by_its_author_and_staff_only(client, reviewed, who, status):
    staff = make_user("staff")
    ask(client, reviewed, "hide", staff)
    user = {"anonymous": None, "author": reviewed["author"], "customer": make_user(), "staff": staff}[who]
    response = ask(client, reviewed, "show", user)
    assert response.status_code == status
    if status == 200:
        assert response.json["hidden_reason"] == "spoiler"


def test_a_write_with_only_the_session_cookie_is_refused(client, reviewed):
    from .test_dead_letters import log_in

    log_in(client, reviewed["author"])
    response = client.patch(f"/api/v1/reviews/{reviewed['review']}", json={"rating": 1})
    assert response.status_code == 401
    assert response.json["type"].endswith("/bearer-token-required")


# --- edits, votes, listing ----------------------------------------------------------------------

def test_an_edit_changes_the_review_and_the_rating(client, reviewed):
    response = client.patch(f"/api/v1/reviews/{reviewed['review']}", json={"rating": 2},
                            headers=auth_headers(reviewed["author"]))
    assert response.status_code == 200
    assert (response.json["rating"], response.json["title"], response.json["edited"]) == (2, REVIEW["title"], True)
    assert rating_of(reviewed["product"]) == (2.0, 1)


def test_a_patch_with_null_is_refused(client, reviewed):
    response = client.patch(f"/api/v1/reviews/{reviewed['review']}", json={"rating": None},
                            headers=auth_headers(reviewed["author"]))
    assert response.status_code == 422


def test_a_helpful_vote_counts_once_per_shopper(client, reviewed):
    voter = auth_headers(make_user())
    first = client.post(f"/api/v1/reviews/{reviewed['review']}/helpful", headers=voter)
    again = client.post(f"/api/v1/reviews/{reviewed['review']}/helpful", headers=voter)
    other = client.post(f"/api/v1/reviews/{reviewed['review']}/helpful", headers=auth_headers(make_user()))
    assert (first.status_code, first.json["helpful_count"], first.json["counted"]) == (201, 1, True)
    assert (again.status_code, again.json["helpful_count"], again.json["counted"]) == (200, 1, False)
    assert other.json["helpful_count"] == 2


def test_reviews_list_newest_first_or_most_helpful_first(client, pan):
    authors = [received(pan) for _ in range(3)]
    ids = [post_review(client, pan.id, author, title=f"Review {number}").json["id"]
           for number, author in enumerate(authors)]
    for _ in range(2):
        client.post(f"/api/v1/reviews/{ids[0]}/helpful", headers=auth_headers(make_user()))
    client.post(f"/api/v1/reviews/{ids[1]}/helpful", headers=auth_headers(make_user()))
    newest = client.get(f"/api/v1/products/{pan.id}/reviews").json
    helpful = client.get(f"/api/v1/products/{pan.id}/reviews", query_string={"sort": "helpful"}).json
    assert [item["id"] for item in newest["items"]] == ids[::-1]
    assert [item["id"] for item in helpful["items"]] == ids


def test_reviews_are_paged_with_the_rating_and_its_distribution(client, pan):
    for stars in (5, 5, 4, 1):
        post_review(client, pan.id, received(pan), rating=stars)
    page = client.get(f"/api/v1/products/{pan.id}/reviews", query_string={"per_page": 3, "page": 2}).json
    assert (len(page["items"]), page["total"], page["page"], page["per_page"]) == (1, 4, 2, 3)
    assert (page["rating_average"], page["rating_count"]) == (3.75, 4)
    assert page["distribution"] == [{"stars": 5, "count": 2}, {"stars": 4, "count": 1}, {"stars": 3, "count": 0},
                                    {"stars": 2, "count": 0}, {"stars": 1, "count": 1}]


def test_a_bad_review_sort_is_a_422(client, pan):
    response = client.get(f"/api/v1/products/{pan.id}/reviews", query_string={"sort": "best"})
    assert (response.status_code, response.json["field"]) == (422, "sort")


# --- the product's rating -----------------------------------------------------------------------

def test_the_catalog_shows_the_rating_at_once(client, pan):
    before = client.get(f"/api/v1/products/{pan.id}").json  # now cached
    post_review(client, pan.id, received(pan), rating=5)
    post_review(client, pan.id, received(pan), rating=2)
    after = client.get(f"/api/v1/products/{pan.id}").json
    listed = client.get("/api/v1/products").json["items"][0]
    assert (before["rating_average"], before["rating_count"]) == (None, 0)
    assert (after["rating_average"], after["rating_count"]) == (3.5, 2)
    assert (listed["rating_average"], listed["rating_count"]) == (3.5, 2)


def test_hiding_and_unhiding_take_the_review_out_of_the_rating_and_back(client, pan):
    staff = auth_headers(make_user("staff"))
    post_review(client, pan.id, received(pan), rating=5)
    low = post_review(client, pan.id, received(pan), rating=1).json["id"]
    hidden = client.post(f"/api/v1/reviews/{low}/hide", json={"reason": "abusive language"}, headers=staff)
    assert hidden.json["hidden"] is True
    assert client.get(f"/api/v1/products/{pan.id}").json["rating_average"] == 5.0
    assert [item["rating"] for item in client.get(f"/api/v1/products/{pan.id}/reviews").json["items"]] == [5]
    client.post(f"/api/v1/reviews/{low}/unhide", headers=staff)
    assert client.get(f"/api/v1/products/{pan.id}").json["rating_average"] == 3.0


def test_hiding_a_hidden_review_is_a_conflict(client, reviewed):
    staff = make_user("staff")
    ask(client, reviewed, "hide", staff)
    response = ask(client, reviewed, "hide", staff)
    assert response.status_code == 409
    assert rating_of(reviewed["product"]) == (None, 0)


def test_an_edit_of_a_hidden_review_leaves_it_out_of_the_rating(client, reviewed):
    ask(client, reviewed, "hide", make_user("staff"))
    client.patch(f"/api/v1/reviews/{reviewed['review']}", json={"rating": 1},
                 headers=auth_headers(reviewed["author"]))
    assert rating_of(reviewed["product"]) == (None, 0)


def test_products_sort_by_rating_best_first_then_most_rated(client, app):
    kitchen = make_category("Kitchen")
    good, better, unrated, popular = (make_product(kitchen, name=name) for name in ("A", "B", "C", "D"))
    for product, stars in ((good, [4]), (better, [5]), (popular, [4, 4, 4])):
        for rating in stars:
            post_review(client, product.id, received(product), rating=rating)
    listing = client.get("/api/v1/products", query_string={"sort": "rating"}).json
    assert [item["name"] for item in listing["items"]] == ["B", "D", "A", "C"]


def test_staff_list_hidden_reviews_for_moderation(client, reviewed):
    staff = make_user("staff")
    ask(client, reviewed, "hide", staff)
    page = client.get("/api/v1/staff/reviews", query_string={"status": "hidden"}, headers=auth_headers(staff)).json
    assert [item["id"] for item in page["items"]] == [reviewed["review"]]
    assert page["items"][0]["hidden_reason"] == "spoiler"
    assert page["items"][0]["author_email"] == reviewed["author"].email


# --- consistency under concurrency (PostgreSQL, real HTTP, a session per request) ---------------

@pytest.fixture
def postgresql_only(backend):
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing runs concurrently there")


def test_concurrent_reviews_keep_the_rating_exact(postgresql_only, live_server, pan):
    customers = [received(pan) for _ in range(24)]
    stars = [1 + number % 5 for number in range(len(customers))]
    barrier = threading.Barrier(len(customers))
    path = f"{live_server}/api/v1/products/{pan.id}/reviews"

    def review(args):
        customer_headers, rating = args
        barrier.wait()
        return requests.post(path, json={**REVIEW, "rating": rating},
                             headers=customer_headers, timeout=30).status_code

    work = [(auth_headers(customer), rating) for customer, rating in zip(customers, stars, strict=True)]
    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        statuses = list(pool.map(review, work))
    assert statuses == [201] * len(work)
    assert rating_of(pan.id) == visible_rating(pan.id) == (round(sum(stars) / len(stars), 2), len(stars))


def test_concurrent_edits_hides_and_new_reviews_keep_the_rating_exact(postgresql_only, live_server, client, pan):
    authors = [received(pan) for _ in range(12)]
    reviews = [post_review(client, pan.id, author, rating=3).json["id"] for author in authors]
    product_id = pan.id
    newcomers = [received(pan) for _ in range(6)]
    staff = auth_headers(make_user("staff"))
    calls = (
        [("patch", f"/api/v1/reviews/{review}", {"rating": 5}, auth_headers(author))
         for review, author in zip(reviews[:6], authors[:6], strict=True)]
        + [("post", f"/api/v1/reviews/{review}/hide", {"reason": "off topic"}, staff) for review in reviews[6:10]]
        + [("post", f"/api/v1/products/{product_id}/reviews", {**REVIEW, "rating": 1}, auth_headers(newcomer))
           for newcomer in newcomers]
    )
    barrier = threading.Barrier(len(calls))

    def call(args):
        method, path, body, headers = args
        barrier.wait()
        return requests.request(method, live_server + path, json=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        statuses = list(pool.map(call, calls))
    assert sorted(statuses) == [200] * 10 + [201] * 6
    # 6 edited to 5, 2 untouched 3s, 4 hidden, 6 new 1s: 14 visible, 30 + 6 + 6 = 42 stars.
    assert rating_of(pan.id) == visible_rating(pan.id) == (round(42 / 14, 2), 14)


def test_the_rating_equals_an_aggregate_of_the_visible_reviews(client, pan):
    staff = make_user("staff")
    ids = [post_review(client, pan.id, received(pan), rating=stars).json["id"] for stars in (5, 4, 2)]
    client.post(f"/api/v1/reviews/{ids[0]}/hide", json={"reason": "fake"}, headers=auth_headers(staff))
    count = db.session.scalar(select(func.count()).select_from(Review).where(Review.hidden_at.is_(None)))
    assert rating_of(pan.id) == visible_rating(pan.id) == (3.0, count)


def test_a_product_id_no_product_can_have_is_a_422_in_moderation(client, app):
    response = client.get("/api/v1/staff/reviews", query_string={"product_id": 2**40},
                          headers=auth_headers(make_user("staff")))
    assert (response.status_code, response.json["field"]) == (422, "product_id")
