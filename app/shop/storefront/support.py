"""Storefront support pages: the shopper's tickets, opening one (from an order page too), reading
the thread and replying; and rating a delivered order from its page."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from pydantic import ValidationError

from ..accounts.auth import current_user
from ..api import PageQuery, parse
from ..errors import Problem
from ..orders import service as orders
from ..support import service as support
from ..support.schemas import NewFeedback, NewMessage, NewTicket
from .forms import form_blueprint, sentence
from .session import login_first

bp = form_blueprint("support_pages", __name__)

# Tickets on one page of "Your questions", newest first.
TICKETS_PER_PAGE = 20


def _log_in_first():
    return login_first("Log in to ask us a question or read our answers.")


def _policy() -> support.SupportPolicy:
    return support.SupportPolicy.from_config(current_app.config)


@bp.get("/support")
def tickets():
    user = current_user()
    if user is None:
        return _log_in_first()
    page = parse(PageQuery, {"page": request.args.get("page") or "1"}, "query").page
    items, total = support.list_tickets(user, page, TICKETS_PER_PAGE, own=True)
    return render_template("support/list.html", tickets=items, total=total, page=page,
                           last_page=max(1, -(-total // TICKETS_PER_PAGE)))


def _own_orders(user) -> list[dict]:
    items, _ = orders.list_orders(user, 1, 50, own=True)
    return items


@bp.get("/support/new")
def new_ticket():
    user = current_user()
    if user is None:
        return _log_in_first()
    return render_template("support/new.html", form={"order_id": request.args.get("order_id", "")}, errors={},
                           orders=_own_orders(user))


@bp.post("/support")
def open_ticket():
    user = current_user()
    if user is None:
        return _log_in_first()
    form = {key: request.form.get(key, "") for key in ("subject", "message", "order_id")}
    fields = {"subject": form["subject"], "message": form["message"]}
    if form["order_id"]:
        fields["order_id"] = int(form["order_id"]) if form["order_id"].isdigit() else form["order_id"]
    try:
        body = NewTicket.model_validate(fields)
        ticket = support.open_ticket(user, body.subject, body.message, body.order_id, _policy())
    except ValidationError as error:
        errors = {str(item["loc"][0]): sentence(item["msg"]) for item in error.errors(include_url=False)}
        return render_template("support/new.html", form=form, errors=errors, orders=_own_orders(user)), 422
    except Problem as problem:
        if problem.status != 422:
            raise
        return render_template("support/new.html", form=form, errors={"order_id": "Choose one of your orders."},
                               orders=_own_orders(user)), 422
    flash("Thank you: we have your question and will answer here.", "success")
    return redirect(url_for("support_pages.ticket", ticket_id=ticket["id"]))


@bp.get("/support/<int:ticket_id>")
def ticket(ticket_id: int):
    user = current_user()
    if user is None:
        return _log_in_first()
    return render_template("support/ticket.html", ticket=support.get_ticket(ticket_id, user))


@bp.post("/support/<int:ticket_id>/reply")
def reply(ticket_id: int):
    user = current_user()
    if user is None:
        return _log_in_first()
    try:
        body = NewMessage.model_validate({"body": request.form.get("body", "")})
    except ValidationError:
        flash("Write a message of up to 5000 characters.", "error")
        return redirect(url_for("support_pages.ticket", ticket_id=ticket_id))
    try:
        support.add_message(ticket_id, user, body.body)
    except Problem as problem:
        if problem.status != 409:
            raise
        flash(problem.detail, "error")
    return redirect(url_for("support_pages.ticket", ticket_id=ticket_id))


@bp.post("/support/<int:ticket_id>/resolve")
def resolve(ticket_id: int):
    user = current_user()
    if user is None:
        return _log_in_first()
    try:
        support.move_ticket(ticket_id, user, "resolved")
        flash("Glad it is sorted. Reply here if it comes back.", "success")
    except Problem as problem:
        if problem.status != 409:
            raise
        flash(problem.detail, "error")
    return redirect(url_for("support_pages.ticket", ticket_id=ticket_id))


@bp.app_template_global()
def feedback_for_order(order: dict) -> dict | None:
    """For the order page: the shopper's rating of their order, if given (None for someone else's)."""
    user = current_user()
    if user is None or user.id != order["customer_id"]:
        return None
    return support.order_feedback(order["id"], user)


@bp.post("/orders/<int:order_id>/feedback")
def rate_order(order_id: int):
    user = current_user()
    if user is None:
        return _log_in_first()
    rating = request.form.get("rating", "")
    try:
        body = NewFeedback.model_validate({"rating": int(rating) if rating.isdigit() else rating,
                                           "comment": request.form.get("comment", "")})
    except ValidationError:
        flash("Choose a rating from 1 to 5 stars; a comment may be up to 2000 characters.", "error")
        return redirect(url_for("order_pages.order", order_id=order_id))
    try:
        feedback = support.give_feedback(order_id, user, body.rating, body.comment, _policy())
    except Problem as problem:
        if problem.status != 409:
            raise
        flash(problem.detail, "error")
        return redirect(url_for("order_pages.order", order_id=order_id))
    if feedback["ticket_id"]:
        flash("Thank you. We are sorry it was not better: our team will answer you here.", "success")
        return redirect(url_for("support_pages.ticket", ticket_id=feedback["ticket_id"]))
    flash("Thank you for rating your order.", "success")
    return redirect(url_for("order_pages.order", order_id=order_id))
