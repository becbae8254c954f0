"""Support tickets through the API: who may see and do what, the workflow and its illegal moves,
staff triage (corrections kept), priorities and due times, the overdue flag, filter and metric."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from shop.columns import utcnow
from shop.extensions import db
from shop.support import service
from shop.support.models import CategoryCorrection

from .factories import auth_headers, make_order, make_product, make_user
from .test_metrics_state import scrape

API = "/api/v1/tickets"
PARCEL = {"subject": "Where is my parcel?", "message": "I ordered a frying pan ten days ago and it has not arrived."}


def policy() -> service.SupportPolicy:
    return service.SupportPolicy.from_config(current_app.config)


def open_ticket(client, customer, **fields):
    response = client.post(API, json={**PARCEL, **fields}, headers=auth_headers(customer))
    assert response.status_code == 201, response.json
    return response.json


def move(client, user, ticket_id: int, to: str):
    return client.post(f"{API}/{ticket_id}/transitions", json={"to": to}, headers=auth_headers(user))


def write(client, user, ticket_id: int, body: str = "Any news?"):
    return client.post(f"{API}/{ticket_id}/messages", json={"body": body}, headers=auth_headers(user))


# --- who may do what ----------------------------------------------------------------------------

@pytest.fixture
def people(app):
    return {"owner": make_user(), "other": make_user(), "staff": make_user("staff")}


@pytest.fixture
def ticket(client, people):
    return open_ticket(client, people["owner"])


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("other", 404), ("owner", 200), ("staff", 200)])
@pytest.mark.parametrize("ask", ["read", "write", "move"])
def test_who_may_read_write_and_move_a_ticket(client, people, ticket, who, status, ask):
    headers = auth_headers(people[who]) if who else {}
    path = f"{API}/{ticket['id']}"
    response = {"read": lambda: client.get(path, headers=headers),
                "write": lambda: client.post(f"{path}/messages", json={"body": "Hello"}, headers=headers),
                "move": lambda: client.post(f"{path}/transitions", json={"to": "resolved"}, headers=headers)}[ask]()
    expected = 201 if ask == "write" and status == 200 else status
    assert response.status_code == expected
    if status >= 400:
        assert response.content_type == "application/problem+json"


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("other", 403), ("owner", 403), ("staff", 200)])
def test_only_staff_triage_a_ticket(client, people, ticket, who, status):
    headers = auth_headers(people[who]) if who else {}
    assert client.patch(f"{API}/{ticket['id']}", json={"priority": "low"}, headers=headers).status_code == status


def test_a_customer_lists_only_their_own_tickets(client, people, ticket):
    open_ticket(client, people["other"])
    page = client.get(API, headers=auth_headers(people["owner"])).json
    assert [item["id"] for item in page["items"]] == [ticket["id"]]
    assert page["total"] == 1


def test_staff_list_everyones_tickets_paged(client, people, ticket):
    open_ticket(client, people["other"])
    page = client.get(f"{API}?per_page=1", headers=auth_headers(people["staff"])).json
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (2, 1, 1, 1)


def test_a_ticket_about_someone_elses_order_is_refused_naming_the_field(client, people):
    order = make_order(people["other"])
    response = client.post(API, json={**PARCEL, "order_id": order["id"]}, headers=auth_headers(people["owner"]))
    assert response.status_code == 422
    assert response.json["field"] == "order_id"


def test_an_empty_message_is_refused_naming_the_field(client, people):
    response = client.post(API, json={**PARCEL, "message": ""}, headers=auth_headers(people["owner"]))
    assert response.status_code == 422
    assert response.json["field"] == "message"


def test_a_retried_open_with_the_same_idempotency_key_opens_one_ticket(client, people):
    headers = {**auth_headers(people["owner"]), "Idempotency-Key": "ticket-1"}
    first = client.post(API, json=PARCEL, headers=headers)
    again = client.post(API, json=PARCEL, headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json["id"] == first.json["id"]
    assert client.get(API, headers=auth_headers(people["owner"])).json["total"] == 1


# --- what a new ticket carries ---------------------------------------------------------------------

def test_a_new_ticket_is_classified_and_given_a_priority_and_due_time(client, people, ticket):
    assert ticket["category"] == "shipping"
    assert ticket["predicted_category"] == "shipping"
    assert ticket["confidence"] >= current_app.config["SUPPORT_CONFIDENCE_THRESHOLD"]
    assert ticket["priority"] == "normal"
    assert ticket["status"] == "open"
    assert ticket["overdue"] is False
    assert [message["author"] for message in ticket["messages"]] == ["customer"]
    assert ticket["due_at"] > ticket["created_at"]


@pytest.mark.parametrize(("total_cents", "priority"), [(2000, "high"), (50000, "urgent")], ids=["small", "large"])
def test_a_payment_problem_on_a_large_order_comes_first(client, people, total_cents, priority):
    order = make_order(people["owner"], (make_product(price_cents=total_cents), 1), status="paid")
    ticket = open_ticket(client, people["owner"], subject="Charged twice",
                         message="My card was charged twice for this order, please fix it.", order_id=order["id"])
    assert ticket["category"] == "payment"
    assert ticket["priority"] == priority


def test_an_unclear_ticket_goes_to_other_for_triage(client, people):
    ticket = open_ticket(client, people["owner"], subject="hm", message="qwzx")
    assert ticket["category"] == "other"
    assert ticket["priority"] == "low"


# --- the workflow -----------------------------------------------------------------------------------

def test_staff_answer_sets_an_open_ticket_pending(client, people, ticket):
    response = write(client, people["staff"], ticket["id"], "It is with the carrier, arriving tomorrow.")
    assert response.status_code == 201
    assert response.json["status"] == "pending"
    assert response.json["messages"][-1]["author"] == "staff"


def test_the_customers_reply_to_a_pending_ticket_opens_it_again(client, people, ticket):
    write(client, people["staff"], ticket["id"])
    assert write(client, people["owner"], ticket["id"], "It still is not here.").json["status"] == "open"


def test_the_customers_reply_to_a_resolved_ticket_reopens_it(client, people, ticket):
    assert move(client, people["staff"], ticket["id"], "resolved").json["status"] == "resolved"
    reopened = write(client, people["owner"], ticket["id"], "Sorry, it happened again.").json
    assert reopened["status"] == "open"
    assert reopened["due_at"] > ticket["due_at"]


@pytest.mark.parametrize(("path", "to"), [
    (["resolved", "closed"], "open"),
    (["resolved", "closed"], "resolved"),
    (["resolved"], "pending"),
    ([], "open"),
], ids=["closed-to-open", "closed-to-resolved", "resolved-to-pending", "open-to-open"])
def test_an_illegal_move_is_a_conflict_naming_the_state(client, people, ticket, path, to):
    for step in path:
        assert move(client, people["staff"], ticket["id"], step).status_code == 200
    response = move(client, people["staff"], ticket["id"], to)
    assert response.status_code == 409
    current = path[-1] if path else "open"
    assert response.json["current_status"] == current
    assert f"is {current}" in response.json["detail"]


def test_a_closed_ticket_takes_no_more_messages(client, people, ticket):
    move(client, people["owner"], ticket["id"], "closed")
    response = write(client, people["owner"], ticket["id"])
    assert response.status_code == 409
    assert response.json["current_status"] == "closed"


def test_a_customer_may_not_set_their_ticket_pending(client, people, ticket):
    response = move(client, people["owner"], ticket["id"], "pending")
    assert response.status_code == 403


def test_an_unknown_state_is_refused_naming_the_field(client, people, ticket):
    response = move(client, people["staff"], ticket["id"], "archived")
    assert response.status_code == 422
    assert response.json["field"] == "to"


# --- staff triage -----------------------------------------------------------------------------------

def test_a_recategorised_ticket_keeps_the_correction_for_retraining(client, people, ticket):
    response = client.patch(f"{API}/{ticket['id']}", json={"category": "product"},
                            headers=auth_headers(people["staff"]))
    assert response.json["category"] == "product"
    assert response.json["predicted_category"] == "shipping"
    correction = db.session.scalars(select(CategoryCorrection)).one()
    assert (correction.predicted_category, correction.category) == ("shipping", "product")
    assert PARCEL["message"] in correction.text


def test_the_priority_follows_a_new_category_unless_set(client, people, ticket):
    staff = auth_headers(people["staff"])
    assert client.patch(f"{API}/{ticket['id']}", json={"category": "refund"}, headers=staff).json["priority"] == "high"
    both = client.patch(f"{API}/{ticket['id']}", json={"category": "other", "priority": "urgent"}, headers=staff).json
    assert both["priority"] == "urgent"


def test_staff_assign_and_unassign(client, people, ticket):
    staff = auth_headers(people["staff"])
    assigned = client.patch(f"{API}/{ticket['id']}", json={"assignee_id": people["staff"].id}, headers=staff).json
    assert assigned["assignee_id"] == people["staff"].id
    assert client.patch(f"{API}/{ticket['id']}", json={"assignee_id": None}, headers=staff).json["assignee_id"] is None


def test_a_ticket_is_assigned_only_to_staff(client, people, ticket):
    response = client.patch(f"{API}/{ticket['id']}", json={"assignee_id": people["owner"].id},
                            headers=auth_headers(people["staff"]))
    assert response.status_code == 422
    assert response.json["field"] == "assignee_id"


@pytest.mark.parametrize(("query", "expected"), [
    ("category=payment", ["payment"]),
    ("category=shipping", ["shipping"]),
    ("status=pending", ["payment"]),
    ("priority=normal", ["shipping"]),
], ids=["payment", "shipping", "pending", "normal"])
def test_staff_filter_the_queue(client, people, query, expected):
    open_ticket(client, people["owner"])
    charged = open_ticket(client, people["other"], subject="Card charged twice", message="Two charges on my card.")
    write(client, people["staff"], charged["id"])
    page = client.get(f"{API}?{query}", headers=auth_headers(people["staff"])).json
    assert [item["category"] for item in page["items"]] == expected


def test_staff_filter_by_assignee(client, people, ticket):
    open_ticket(client, people["other"])
    client.patch(f"{API}/{ticket['id']}", json={"assignee_id": people["staff"].id},
                 headers=auth_headers(people["staff"]))
    mine = client.get(f"{API}?assignee_id={people['staff'].id}", headers=auth_headers(people["staff"])).json
    nobodys = client.get(f"{API}?unassigned=true", headers=auth_headers(people["staff"])).json
    assert [item["id"] for item in mine["items"]] == [ticket["id"]]
    assert ticket["id"] not in [item["id"] for item in nobodys["items"]]
    assert nobodys["total"] == 1


def test_the_queue_puts_the_most_urgent_first(client, people):
    small = open_ticket(client, people["owner"])
    order = make_order(people["other"], (make_product(price_cents=90000), 1), status="paid")
    large = open_ticket(client, people["other"], subject="Payment failed",
                        message="The payment failed but my card was charged.", order_id=order["id"])
    items = client.get(API, headers=auth_headers(people["staff"])).json["items"]
    assert [item["id"] for item in items] == [large["id"], small["id"]]


# --- overdue ------------------------------------------------------------------------------------------

@pytest.fixture
def late_ticket(app, people):
    """A shipping ticket opened two days ago: its answer (due within 24 hours) is late."""
    return service.open_ticket(people["owner"], PARCEL["subject"], PARCEL["message"], None, policy(),
                               now=utcnow() - timedelta(days=2))


def test_a_late_ticket_is_flagged_overdue(client, people, late_ticket):
    assert client.get(f"{API}/{late_ticket['id']}", headers=auth_headers(people["owner"])).json["overdue"] is True


def test_staff_filter_the_overdue_tickets(client, people, late_ticket):
    open_ticket(client, people["other"])
    page = client.get(f"{API}?overdue=true", headers=auth_headers(people["staff"])).json
    assert [item["id"] for item in page["items"]] == [late_ticket["id"]]


def test_the_metric_counts_overdue_tickets_until_answered(client, people, late_ticket):
    assert scrape(client)["shop_support_tickets_overdue"] == 1
    write(client, people["staff"], late_ticket["id"], "Sorry for the wait: it arrives tomorrow.")
    assert scrape(client)["shop_support_tickets_overdue"] == 0
