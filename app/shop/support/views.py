"""The support API: customers' tickets and their threads, staff triage, and order feedback."""

from __future__ import annotations

from flask import Blueprint, current_app

from ..accounts.auth import require_customer, require_staff
from ..api import IDEMPOTENCY_KEY, answer_once, operation, page_of
from . import service
from .schemas import (
    FeedbackOut,
    NewFeedback,
    NewMessage,
    NewTicket,
    TicketOut,
    TicketPage,
    TicketQuery,
    TicketTransition,
    TicketUpdate,
)

bp = Blueprint("support", __name__, url_prefix="/api/v1")


def policy() -> service.SupportPolicy:
    return service.SupportPolicy.from_config(current_app.config)


@bp.post("/tickets")
@operation("Open a support ticket, optionally about one of the customer's orders; it is classified and "
           "given a priority and a due time", tags=["support"], body=NewTicket, response=TicketOut, status=201,
           auth="customer", headers=IDEMPOTENCY_KEY)
def open_ticket(body: NewTicket):
    customer = require_customer()
    return answer_once(customer.id, body,
                       lambda: service.open_ticket(customer, body.subject, body.message, body.order_id, policy()),
                       status_of=lambda _ticket: 201,
                       headers=lambda ticket: {"Location": f"{bp.url_prefix}/tickets/{ticket['id']}"})


@bp.get("/tickets")
@operation("Tickets: the customer's own, newest first; staff see the queue of everyone's, most urgent first",
           tags=["support"], query=TicketQuery, response=TicketPage, auth="customer")
def list_tickets(query: TicketQuery):
    filters = service.TicketFilter(query.status, query.category, query.priority, query.assignee_id,
                                   query.unassigned, query.overdue, query.order_id)
    items, total = service.list_tickets(require_customer(), query.page, query.per_page, filters)
    return page_of(items, total, query)


@bp.get("/tickets/<int:ticket_id>")
@operation("A ticket with its thread (the owner's or staff's)", tags=["support"], response=TicketOut,
           auth="customer")
def show_ticket(ticket_id: int):
    return service.get_ticket(ticket_id, require_customer())


@bp.post("/tickets/<int:ticket_id>/messages")
@operation("Write in a ticket's thread: the customer's reply reopens a pending or resolved ticket, staff's "
           "answer sets an open one pending", tags=["support"], body=NewMessage, response=TicketOut, status=201,
           auth="customer", headers=IDEMPOTENCY_KEY)
def add_message(ticket_id: int, body: NewMessage):
    author = require_customer()
    return answer_once(author.id, body, lambda: service.add_message(ticket_id, author, body.body),
                       status_of=lambda _ticket: 201)


@bp.post("/tickets/<int:ticket_id>/transitions")
@operation("Move a ticket along its states (open, pending, resolved, closed); 409 names the state it is in",
           tags=["support"], body=TicketTransition, response=TicketOut, auth="customer")
def move_ticket(ticket_id: int, body: TicketTransition):
    return service.move_ticket(ticket_id, require_customer(), body.to)


@bp.patch("/tickets/<int:ticket_id>")
@operation("Staff: re-categorise (kept for retraining), set the priority, assign or unassign",
           tags=["support"], body=TicketUpdate, response=TicketOut, auth="staff")
def update_ticket(ticket_id: int, body: TicketUpdate):
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    return service.update_ticket(ticket_id, require_staff(), policy(), **changes)


@bp.post("/orders/<int:order_id>/feedback")
@operation("Rate a delivered order of the customer's, once (1-5); a rating of 2 or less opens a ticket",
           tags=["support"], body=NewFeedback, response=FeedbackOut, status=201, auth="customer")
def give_feedback(order_id: int, body: NewFeedback):
    return service.give_feedback(order_id, require_customer(), body.rating, body.comment, policy()), 201
