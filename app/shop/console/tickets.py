"""The staff console's ticket pages: the queue with its filters, and a ticket's thread with forms
to answer, assign, re-categorise, re-prioritise and move it."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from ..accounts.auth import current_user
from ..api import parse
from ..errors import Problem
from ..support import service as support
from ..support.classifier import CATEGORIES
from ..support.schemas import NewMessage, TicketQuery, TicketTransition, TicketUpdate
from ..support.workflow import MOVES, STATUSES
from . import console_blueprint

bp = console_blueprint("console_tickets", __name__)


def _filters(query: TicketQuery) -> support.TicketFilter:
    return support.TicketFilter(query.status, query.category, query.priority, query.assignee_id, query.unassigned,
                                query.overdue, query.order_id)


@bp.get("/tickets")
def queue():
    # An empty select in the filter form means "any".
    query = parse(TicketQuery, {key: value for key, value in request.args.items() if value != ""}, "query")
    tickets, total = support.list_tickets(current_user(), query.page, query.per_page, _filters(query))
    return render_template("console/tickets.html", tickets=tickets, total=total, query=query, statuses=STATUSES,
                           categories=CATEGORIES, priorities=support.PRIORITIES, staff=support.staff_members(),
                           last_page=max(1, -(-total // query.per_page)))


@bp.get("/tickets/<int:ticket_id>")
def ticket(ticket_id: int):
    document = support.get_ticket(ticket_id, current_user())
    moves = [status for status in STATUSES if status in MOVES[document["status"]]]
    return render_template("console/ticket.html", ticket=document, moves=moves,
                           categories=CATEGORIES, priorities=support.PRIORITIES, staff=support.staff_members())


def _back(ticket_id: int):
    return redirect(url_for(".ticket", ticket_id=ticket_id))


@bp.post("/tickets/<int:ticket_id>/messages")
def answer(ticket_id: int):
    body = parse(NewMessage, {"body": request.form.get("body", "")}, "body")
    try:
        support.add_message(ticket_id, current_user(), body.body)
        flash("Your answer was sent.", "success")
    except Problem as problem:
        if problem.status != 409:
            raise
        flash(problem.detail, "error")
    return _back(ticket_id)


@bp.post("/tickets/<int:ticket_id>/triage")
def triage(ticket_id: int):
    """One form for category, priority and assignee: only what changed is applied."""
    current = support.get_ticket(ticket_id, current_user())
    fields = {"category": request.form.get("category") or None, "priority": request.form.get("priority") or None,
              "assignee_id": int(request.form["assignee_id"]) if request.form.get("assignee_id", "").isdigit()
              else None}
    parse(TicketUpdate, fields, "body")
    changes = {name: value for name, value in fields.items() if value != current[name]}
    if changes:
        support.update_ticket(ticket_id, current_user(), support.SupportPolicy.from_config(current_app.config),
                              **changes)
        flash("The ticket was updated.", "success")
    return _back(ticket_id)


@bp.post("/tickets/<int:ticket_id>/transitions")
def move(ticket_id: int):
    body = parse(TicketTransition, {"to": request.form.get("to", "")}, "body")
    try:
        support.move_ticket(ticket_id, current_user(), body.to)
        flash(f"The ticket is {body.to}.", "success")
    except Problem as problem:
        if problem.status != 409:
            raise
        flash(problem.detail, "error")
    return _back(ticket_id)
