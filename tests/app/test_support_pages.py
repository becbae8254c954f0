"""Support pages: the shopper's questions on the storefront, and the staff console's ticket queue
and thread. Every form carries the session's CSRF token."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from shop.extensions import db
from shop.support.models import CategoryCorrection, Ticket

from .factories import auth_headers, make_order, make_user
from .test_dead_letters import log_in

PARCEL = {"subject": "Where is my parcel?", "message": "My teapot was due on Monday and has not arrived."}


def token(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def ticket_of(client, customer, **fields) -> int:
    response = client.post("/api/v1/tickets", json={**PARCEL, **fields}, headers=auth_headers(customer))
    return response.json["id"]


def page(client, path: str) -> str:
    return client.get(path).get_data(as_text=True)


@pytest.fixture
def customer(app):
    return make_user(name="Grace")


# --- storefront -------------------------------------------------------------------------------------------

def test_a_stranger_is_asked_to_log_in(client):
    response = client.get("/support")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_shopper_opens_a_question_from_the_form(client, customer):
    log_in(client, customer)
    response = client.post("/support", data={**PARCEL, "order_id": "", "csrf_token": token(client, "/support/new")})
    assert response.status_code == 302
    ticket = db.session.scalars(select(Ticket)).one()
    assert response.headers["Location"].endswith(f"/support/{ticket.id}")
    assert (ticket.customer_id, ticket.category) == (customer.id, "shipping")
    assert PARCEL["message"] in page(client, f"/support/{ticket.id}")


def test_the_form_refuses_a_post_without_its_csrf_token(client, customer):
    log_in(client, customer)
    assert client.post("/support", data=PARCEL).status_code == 400
    assert db.session.scalar(select(Ticket.id)) is None


def test_a_question_without_a_message_is_shown_again_with_the_reason(client, customer):
    log_in(client, customer)
    response = client.post("/support", data={"subject": "Hi", "message": "",
                                             "csrf_token": token(client, "/support/new")})
    assert response.status_code == 422
    assert 'id="message-error"' in response.get_data(as_text=True)


def test_the_order_page_links_to_a_question_about_the_order(client, customer):
    order = make_order(customer)
    log_in(client, customer)
    assert f'href="/support/new?order_id={order["id"]}"' in page(client, f"/orders/{order['id']}")
    assert f'value="{order["id"]}" selected' in page(client, f"/support/new?order_id={order['id']}")


def test_a_shopper_lists_only_their_own_questions(client, customer):
    mine = ticket_of(client, customer)
    theirs = ticket_of(client, make_user())
    log_in(client, customer)
    listing = page(client, "/support")
    assert f'data-ticket-id="{mine}"' in listing
    assert f'data-ticket-id="{theirs}"' not in listing


def test_someone_elses_question_is_not_found(client, customer):
    theirs = ticket_of(client, make_user())
    log_in(client, customer)
    assert client.get(f"/support/{theirs}").status_code == 404


def test_a_shopper_replies_and_a_resolved_question_reopens(client, customer):
    ticket = ticket_of(client, customer)
    client.post(f"/api/v1/tickets/{ticket}/transitions", json={"to": "resolved"},
                headers=auth_headers(make_user("staff")))
    log_in(client, customer)
    response = client.post(f"/support/{ticket}/reply", data={"body": "It broke again.",
                                                             "csrf_token": token(client, f"/support/{ticket}")})
    assert response.status_code == 302
    thread = page(client, f"/support/{ticket}")
    assert "It broke again." in thread
    assert '<strong data-test="ticket-status">open</strong>' in thread


def test_a_shopper_marks_their_question_answered(client, customer):
    ticket = ticket_of(client, customer)
    log_in(client, customer)
    client.post(f"/support/{ticket}/resolve", data={"csrf_token": token(client, f"/support/{ticket}")})
    db.session.expire_all()
    assert db.session.get(Ticket, ticket).status == "resolved"


def test_a_poor_rating_on_the_order_page_opens_a_question(client, customer):
    order = make_order(customer, status="delivered")
    log_in(client, customer)
    response = client.post(f"/orders/{order['id']}/feedback", data={
        "rating": "1", "comment": "The vase arrived cracked.", "csrf_token": token(client, f"/orders/{order['id']}")})
    ticket = db.session.scalars(select(Ticket)).one()
    assert response.headers["Location"].endswith(f"/support/{ticket.id}")
    assert "You rated this order 1 out of 5." in page(client, f"/orders/{order['id']}")


# --- staff console ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("role", "status"), [(None, 404), ("customer", 404), ("staff", 200)])
@pytest.mark.parametrize("path", ["/console/tickets", "/console/tickets/{ticket}"], ids=["queue", "ticket"])
def test_only_staff_see_the_ticket_console(client, customer, role, status, path):
    ticket = ticket_of(client, customer)
    if role:
        log_in(client, customer if role == "customer" else make_user("staff"))
    assert client.get(path.format(ticket=ticket)).status_code == status


def test_the_queue_filters_by_category(client, customer):
    parcel = ticket_of(client, customer)
    charge = ticket_of(client, customer, subject="Charged twice", message="My card was charged twice.")
    log_in(client, make_user("staff"))
    queue = page(client, "/console/tickets?category=payment&status=")
    assert f'data-ticket-id="{charge}"' in queue
    assert f'data-ticket-id="{parcel}"' not in queue


def test_a_bad_filter_is_refused(client, customer):
    log_in(client, make_user("staff"))
    assert client.get("/console/tickets?category=furniture").status_code == 422


@pytest.fixture
def staff_on_ticket(client, customer):
    ticket = ticket_of(client, customer)
    staff = make_user("staff", name="Sam")
    log_in(client, staff)
    return ticket, staff, token(client, f"/console/tickets/{ticket}")


def test_staff_answer_from_the_console(client, staff_on_ticket):
    ticket, _, csrf = staff_on_ticket
    client.post(f"/console/tickets/{ticket}/messages", data={"body": "It arrives tomorrow.", "csrf_token": csrf})
    db.session.expire_all()
    answered = db.session.get(Ticket, ticket)
    assert answered.status == "pending"
    assert answered.messages[-1].body == "It arrives tomorrow."


def test_staff_recategorise_and_assign_from_the_console(client, staff_on_ticket):
    ticket, staff, csrf = staff_on_ticket
    client.post(f"/console/tickets/{ticket}/triage", data={"category": "product", "priority": "normal",
                                                           "assignee_id": str(staff.id), "csrf_token": csrf})
    db.session.expire_all()
    triaged = db.session.get(Ticket, ticket)
    assert (triaged.category, triaged.assignee_id) == ("product", staff.id)
    assert db.session.scalars(select(CategoryCorrection.category)).all() == ["product"]


def test_staff_move_a_ticket_from_the_console(client, staff_on_ticket):
    ticket, _, csrf = staff_on_ticket
    client.post(f"/console/tickets/{ticket}/transitions", data={"to": "resolved", "csrf_token": csrf})
    db.session.expire_all()
    assert db.session.get(Ticket, ticket).status == "resolved"


def test_an_illegal_move_from_the_console_is_explained(client, staff_on_ticket):
    ticket, _, csrf = staff_on_ticket
    client.post(f"/console/tickets/{ticket}/transitions", data={"to": "closed", "csrf_token": csrf})
    response = client.post(f"/console/tickets/{ticket}/transitions", data={"to": "open", "csrf_token": csrf},
                           follow_redirects=True)
    assert f"Ticket {ticket} is closed; it cannot become open." in response.get_data(as_text=True)


@pytest.mark.parametrize(("action", "data"), [
    ("messages", {"body": "Hello"}),
    ("triage", {"category": "refund", "priority": "high", "assignee_id": ""}),
    ("transitions", {"to": "resolved"}),
])
def test_the_console_refuses_a_form_without_its_csrf_token(client, staff_on_ticket, action, data):
    ticket, _, _ = staff_on_ticket
    assert client.post(f"/console/tickets/{ticket}/{action}", data=data).status_code == 400
    db.session.expire_all()
    unchanged = db.session.get(Ticket, ticket)
    assert (unchanged.status, unchanged.category, len(unchanged.messages)) == ("open", "shipping", 1)
