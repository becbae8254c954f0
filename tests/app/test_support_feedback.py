"""Order feedback: a customer rates their delivered order once; a poor rating opens a ticket."""

from __future__ import annotations

import pytest

from .factories import auth_headers, make_order, make_user


def rate(client, user, order_id: int, rating: int = 5, comment: str = ""):
    return client.post(f"/api/v1/orders/{order_id}/feedback", json={"rating": rating, "comment": comment},
                       headers=auth_headers(user))


@pytest.fixture
def customer(app):
    return make_user()


@pytest.fixture
def delivered(customer):
    return make_order(customer, status="delivered")


def test_a_good_rating_is_kept_and_opens_no_ticket(client, customer, delivered):
    response = rate(client, customer, delivered["id"], 5, "Lovely teapot, thank you!")
    assert response.status_code == 201
    assert (response.json["rating"], response.json["ticket_id"]) == (5, None)
    assert client.get("/api/v1/tickets", headers=auth_headers(customer)).json["total"] == 0


def test_a_poor_rating_opens_a_classified_ticket(client, customer, delivered):
    feedback = rate(client, customer, delivered["id"], 2, "The frying pan handle broke after two days.").json
    ticket = client.get(f"/api/v1/tickets/{feedback['ticket_id']}", headers=auth_headers(customer)).json
    assert (ticket["source"], ticket["order_id"], ticket["category"]) == ("feedback", delivered["id"], "product")
    assert ticket["messages"][0]["body"] == "The frying pan handle broke after two days."


def test_a_poor_rating_without_a_comment_goes_to_triage(client, customer, delivered):
    feedback = rate(client, customer, delivered["id"], 1).json
    ticket = client.get(f"/api/v1/tickets/{feedback['ticket_id']}", headers=auth_headers(customer)).json
    assert ticket["category"] == "other"


def test_an_order_is_rated_once(client, customer, delivered):
    rate(client, customer, delivered["id"], 1, "Broken")
    again = rate(client, customer, delivered["id"], 4)
    assert again.status_code == 409
    assert client.get("/api/v1/tickets", headers=auth_headers(customer)).json["total"] == 1


def test_a_completed_order_may_be_rated(client, customer):
    assert rate(client, customer, make_order(customer, status="completed")["id"]).status_code == 201


@pytest.mark.parametrize("status", ["pending_payment", "paid", "shipped", "cancelled"])
def test_an_order_not_delivered_cannot_be_rated(client, customer, status):
    response = rate(client, customer, make_order(customer, status=status)["id"])
    assert response.status_code == 409
    assert response.json["current_status"] == status


@pytest.mark.parametrize("who", ["other", "staff"])
def test_someone_elses_order_is_not_found(client, delivered, who):
    assert rate(client, make_user("staff" if who == "staff" else "customer"), delivered["id"]).status_code == 404


def test_a_stranger_must_log_in(client, delivered):
    assert client.post(f"/api/v1/orders/{delivered['id']}/feedback", json={"rating": 5}).status_code == 401


@pytest.mark.parametrize("rating", [0, 6, "5", 4.5])
def test_a_rating_outside_1_to_5_is_refused_naming_the_field(client, customer, delivered, rating):
    response = client.post(f"/api/v1/orders/{delivered['id']}/feedback", json={"rating": rating},
                           headers=auth_headers(customer))
    assert response.status_code == 422
    assert response.json["field"] == "rating"
