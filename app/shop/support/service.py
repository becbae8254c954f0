"""Customer service: opening tickets (classified, prioritised, given a due time), their threads,
moves, staff triage, the tickets events open, and order feedback. No Flask imports: callers pass
the viewer and the support policy; each public function commits its own transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..columns import iso, utcnow
from ..errors import Conflict, NotFound, Problem
from ..extensions import db
from ..numbers import MAX_ID
from ..orders import states as order_states
from ..orders.models import Order
from . import classifier
from .models import CategoryCorrection, OrderFeedback, Ticket, TicketMessage
from .workflow import CLOSED, CUSTOMER_TARGETS, OPEN, PENDING, RESOLVED, IllegalMove, can_move

# Most urgent first; a ticket's answer is due this many hours after the customer began waiting.
PRIORITIES = ("urgent", "high", "normal", "low")
RESPONSE_HOURS = {"urgent": 4, "high": 8, "normal": 24, "low": 72}
# Where each category starts: money problems before parcels, parcels before questions.
CATEGORY_PRIORITY = {"payment": "high", "refund": "high", "shipping": "normal", "product": "normal",
                     "account": "normal", "other": "low"}
# Order feedback at or below this rating opens a ticket.
LOW_RATING = 2
# Order states whose goods reached the customer: only these can be rated.
RATEABLE = frozenset({order_states.DELIVERED, order_states.COMPLETED})


@dataclass(frozen=True)
class SupportPolicy:
    model_path: Path
    confidence_threshold: float
    large_order_cents: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SupportPolicy:
        return cls(Path(config["SUPPORT_MODEL_PATH"]), config["SUPPORT_CONFIDENCE_THRESHOLD"],
                   config["SUPPORT_LARGE_ORDER_CENTS"])

    def classify(self, text: str) -> classifier.Prediction:
        return classifier.classify(classifier.model(self.model_path), text, self.confidence_threshold)


def priority_for(category: str, order_total_cents: int | None, policy: SupportPolicy, raised: int = 0) -> str:
    """The category's priority, one step sooner for a large order (a payment problem on one is
    urgent) and `raised` steps sooner for what an event says is pressing."""
    rank = PRIORITIES.index(CATEGORY_PRIORITY.get(category, "low"))
    if order_total_cents is not None and order_total_cents >= policy.large_order_cents:
        rank -= 1
    return PRIORITIES[max(0, rank - raised)]


def _due(ticket: Ticket) -> datetime:
    return ticket.waiting_since + timedelta(hours=RESPONSE_HOURS[ticket.priority])


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    """The customer is waiting for the shop and the answer is late."""
    return ticket.status == OPEN and ticket.due_at <= now


# --- documents ----------------------------------------------------------------------------------

def _author(message: TicketMessage) -> str | None:
    if message.author is None:
        return "shopstack" if message.author_role == "system" else None
    return message.author.name


def message_document(message: TicketMessage) -> dict[str, Any]:
    return {"id": message.id, "author": message.author_role, "author_name": _author(message),
            "body": message.body, "created_at": iso(message.created_at)}


def summary_document(ticket: Ticket, now: datetime) -> dict[str, Any]:
    return {"id": ticket.id, "customer_id": ticket.customer_id, "order_id": ticket.order_id,
            "subject": ticket.subject, "status": ticket.status, "category": ticket.category,
            "predicted_category": ticket.predicted_category, "confidence": ticket.confidence,
            "priority": ticket.priority, "source": ticket.source, "assignee_id": ticket.assignee_id,
            "due_at": iso(ticket.due_at), "overdue": is_overdue(ticket, now),
            "created_at": iso(ticket.created_at), "updated_at": iso(ticket.updated_at)}


def ticket_document(ticket: Ticket, now: datetime) -> dict[str, Any]:
    return {**summary_document(ticket, now),
            "customer_name": ticket.customer.name,
            "assignee_name": ticket.assignee.name if ticket.assignee else None,
            "messages": [message_document(message) for message in ticket.messages]}


# --- reading ------------------------------------------------------------------------------------

def find_ticket(ticket_id: int, viewer: User, *, lock: bool = False) -> Ticket:
    """The ticket if the viewer may see it; someone else's is reported as missing."""
    if not 0 < ticket_id <= MAX_ID:
        raise NotFound("Ticket", ticket_id)
    query = select(Ticket).where(Ticket.id == ticket_id).options(
        selectinload(Ticket.messages).selectinload(TicketMessage.author), selectinload(Ticket.customer),
        selectinload(Ticket.assignee))
    if not viewer.is_staff:
        query = query.where(Ticket.customer_id == viewer.id)
    if lock:
        query = query.with_for_update(of=Ticket)
    ticket = db.session.scalar(query)
    if ticket is None:
        raise NotFound("Ticket", ticket_id)
    return ticket


def get_ticket(ticket_id: int, viewer: User, now: datetime | None = None) -> dict[str, Any]:
    document = ticket_document(find_ticket(ticket_id, viewer), now or utcnow())
    db.session.commit()
    return document


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = None
    category: str | None = None
    priority: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    overdue: bool | None = None
    order_id: int | None = None


def list_tickets(viewer: User, page: int, per_page: int, filters: TicketFilter = TicketFilter(), *,
                 own: bool = False, now: datetime | None = None) -> tuple[list[dict[str, Any]], int]:
    """A page of tickets: a customer's own, newest first; for staff (unless `own`) everyone's, as a
    queue: most urgent first, then the answer due soonest."""
    now = now or utcnow()
    query = select(Ticket)
    queue = viewer.is_staff and not own
    if not queue:
        query = query.where(Ticket.customer_id == viewer.id)
    for column, value in ((Ticket.status, filters.status), (Ticket.category, filters.category),
                          (Ticket.priority, filters.priority), (Ticket.assignee_id, filters.assignee_id),
                          (Ticket.order_id, filters.order_id)):
        if value is not None:
            query = query.where(column == value)
    if filters.unassigned:
        query = query.where(Ticket.assignee_id.is_(None))
    if filters.overdue is not None:
        late = (Ticket.status == OPEN) & (Ticket.due_at <= now)
        query = query.where(late if filters.overdue else ~late)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if queue:
        settled = case((Ticket.status.in_((RESOLVED, CLOSED)), 1), else_=0)
        rank = case({name: index for index, name in enumerate(PRIORITIES)}, value=Ticket.priority,
                    else_=len(PRIORITIES))
        query = query.order_by(settled, rank, Ticket.due_at, Ticket.id)
    else:
        query = query.order_by(Ticket.id.desc())
    tickets = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page))
    items = [summary_document(ticket, now) for ticket in tickets]
    db.session.commit()
    return items, total


def overdue_count(now: datetime | None = None) -> int:
    """Open tickets whose answer is late (the /metrics scrape)."""
    now = now or utcnow()
    try:
        return db.session.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.status == OPEN, Ticket.due_at <= now)) or 0
    finally:
        db.session.rollback()


# --- opening and writing ------------------------------------------------------------------------

def _customers_order(order_id: int, customer: User) -> Order:
    order = db.session.scalar(select(Order).where(Order.id == order_id, Order.customer_id == customer.id))
    if order is None:
        db.session.rollback()
        raise Problem(422, "Invalid request", f"order_id: order {order_id} is not one of your orders",
                      type_="validation-error", field="order_id")
    return order


def _open(customer_id: int, order: Order | None, subject: str, category: str, priority: str, source: str,
          now: datetime, prediction: classifier.Prediction | None = None, status: str = OPEN) -> Ticket:
    ticket = Ticket(customer_id=customer_id, order_id=order.id if order else None, subject=subject[:200],
                    status=status, category=category, priority=priority, source=source,
                    predicted_category=prediction.predicted if prediction else None,
                    confidence=prediction.confidence if prediction else None,
                    waiting_since=now, created_at=now, updated_at=now)
    ticket.due_at = _due(ticket)
    db.session.add(ticket)
    return ticket


def _write(ticket: Ticket, author: User | None, role: str, body: str, now: datetime) -> None:
    ticket.messages.append(TicketMessage(author_id=author.id if author else None, author=author, author_role=role,
                                         body=body, created_at=now))
    ticket.updated_at = now


def _start_waiting(ticket: Ticket, now: datetime) -> None:
    """The customer waits for the shop from now: the answer is due after the priority's hours."""
    ticket.status, ticket.waiting_since = OPEN, now
    ticket.due_at = _due(ticket)


def open_ticket(customer: User, subject: str, message: str, order_id: int | None, policy: SupportPolicy,
                now: datetime | None = None) -> dict[str, Any]:
    """A customer's question, optionally about one of their orders, sorted by the classifier."""
    now = now or utcnow()
    order = _customers_order(order_id, customer) if order_id is not None else None
    prediction = policy.classify(f"{subject}\n{message}")
    ticket = _open(customer.id, order, subject, prediction.category,
                   priority_for(prediction.category, order.total_cents if order else None, policy), "customer",
                   now, prediction)
    _write(ticket, customer, "customer", message, now)
    db.session.flush()
    document = ticket_document(ticket, now)
    db.session.commit()
    return document


def add_message(ticket_id: int, author: User, body: str, now: datetime | None = None) -> dict[str, Any]:
    """A message in the thread. The customer's reopens a pending or resolved ticket (the shop owes
    an answer again); staff's answer moves an open ticket to pending (the customer's turn)."""
    now = now or utcnow()
    ticket = find_ticket(ticket_id, author, lock=True)
    if ticket.status == CLOSED:
        db.session.rollback()
        raise Conflict(f"Ticket {ticket_id} is closed; open a new ticket to ask something else.",
                       current_status=CLOSED)
    by_customer = ticket.customer_id == author.id and not author.is_staff
    _write(ticket, author, "customer" if by_customer else "staff", body, now)
    if by_customer and ticket.status in (PENDING, RESOLVED):
        _start_waiting(ticket, now)
    elif not by_customer and ticket.status == OPEN:
        ticket.status = PENDING
    db.session.flush()
    document = ticket_document(ticket, now)
    db.session.commit()
    return document


def move_ticket(ticket_id: int, viewer: User, to_status: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    ticket = find_ticket(ticket_id, viewer, lock=True)
    if not viewer.is_staff and to_status not in CUSTOMER_TARGETS:
        db.session.rollback()
        raise Problem(403, "Forbidden", f"Only staff may set a ticket {to_status}.", type_="staff-only")
    if not can_move(ticket.status, to_status):
        current = ticket.status
        db.session.rollback()
        raise IllegalMove(ticket_id, current, to_status)
    if to_status == OPEN:
        _start_waiting(ticket, now)
    else:
        ticket.status = to_status
    ticket.updated_at = now
    document = ticket_document(ticket, now)
    db.session.commit()
    return document


_UNSET: Any = object()


def update_ticket(ticket_id: int, staff: User, policy: SupportPolicy, *, category: str | None = None,
                  priority: str | None = None, assignee_id: int | None = _UNSET,
                  now: datetime | None = None) -> dict[str, Any]:
    """Staff triage: re-categorise (kept as a correction for retraining; the priority follows unless
    set too), set the priority, assign to a staff member or unassign (None)."""
    now = now or utcnow()
    ticket = find_ticket(ticket_id, staff, lock=True)
    if assignee_id is not _UNSET:
        if assignee_id is not None:
            assignee = db.session.get(User, assignee_id)
            if assignee is None or not assignee.is_staff:
                db.session.rollback()
                raise Problem(422, "Invalid request", f"assignee_id: user {assignee_id} is not a staff member",
                              type_="validation-error", field="assignee_id")
        ticket.assignee_id = assignee_id
    if category is not None and category != ticket.category:
        db.session.add(CategoryCorrection(ticket_id=ticket.id, text=_ticket_text(ticket),
                                          predicted_category=ticket.predicted_category, category=category,
                                          staff_id=staff.id, created_at=now))
        ticket.category = category
        if priority is None:
            order = db.session.get(Order, ticket.order_id) if ticket.order_id else None
            ticket.priority = priority_for(category, order.total_cents if order else None, policy)
    if priority is not None:
        ticket.priority = priority
    ticket.due_at = _due(ticket)
    ticket.updated_at = now
    db.session.flush()
    db.session.refresh(ticket, ["assignee"])
    document = ticket_document(ticket, now)
    db.session.commit()
    return document


def _ticket_text(ticket: Ticket) -> str:
    """What the classifier read: the subject and the customer's first message."""
    first = next((message.body for message in ticket.messages if message.author_role == "customer"), "")
    return f"{ticket.subject}\n{first}"


def corrections() -> list[tuple[str, str]]:
    """Every staff correction as (text, category), oldest first: the retraining set."""
    rows = db.session.execute(select(CategoryCorrection.text, CategoryCorrection.category)
                              .order_by(CategoryCorrection.id)).all()
    db.session.commit()
    return [(text, category) for text, category in rows]


def staff_members() -> list[dict[str, Any]]:
    """Who a ticket can be assigned to."""
    staff = db.session.scalars(select(User).where(User.role == "staff").order_by(User.name, User.id))
    members = [{"id": user.id, "name": user.name} for user in staff]
    db.session.commit()
    return members


# --- tickets opened by events -------------------------------------------------------------------

def _active_ticket(order_id: int) -> Ticket | None:
    """The newest ticket about the order that is not closed, locked."""
    return db.session.scalar(select(Ticket).where(Ticket.order_id == order_id, Ticket.status != CLOSED)
                             .order_by(Ticket.id.desc()).limit(1).with_for_update())


def note_delivery_problem(order_id: int, status: str, detail: str | None, policy: SupportPolicy,
                          now: datetime | None = None) -> int | None:
    """A parcel could not be delivered: the order's open ticket hears of it and waits for staff
    again, or a new shipping ticket is opened for the customer. The ticket's id (None: no order).
    Joins the caller's transaction (the consumer commits it with its inbox row)."""
    now = now or utcnow()
    order = db.session.get(Order, order_id)
    if order is None:
        return None
    what = status.replace("_", " ")
    body = (f"The carrier reports a problem delivering order #{order_id}: {what}"
            + (f" ({detail})." if detail else ".") + " Our team will contact you about the next step.")
    raised = priority_for("shipping", order.total_cents, policy, raised=1)
    ticket = _active_ticket(order_id)
    if ticket is None:
        ticket = _open(order.customer_id, order, f"Delivery problem with order #{order_id}", "shipping", raised,
                       "delivery", now)
    else:
        if PRIORITIES.index(raised) < PRIORITIES.index(ticket.priority):
            ticket.priority = raised
        if ticket.status != OPEN:
            _start_waiting(ticket, now)
        ticket.due_at = min(ticket.due_at, _due(ticket))
    _write(ticket, None, "system", body, now)
    db.session.flush()
    return ticket.id


def note_refund(order_id: int, amount_cents: int, currency: str, policy: SupportPolicy,
                now: datetime | None = None) -> int | None:
    """A refund was made: the order's open ticket says so; without one, a resolved refund ticket
    records it in the customer's history (a reply reopens it). Joins the caller's transaction."""
    now = now or utcnow()
    order = db.session.get(Order, order_id)
    if order is None:
        return None
    body = (f"A refund of {amount_cents / 100:.2f} {currency} for order #{order_id} was sent to the card it was "
            "paid with; banks usually show it within 5 to 10 working days.")
    ticket = _active_ticket(order_id)
    if ticket is None:
        ticket = _open(order.customer_id, order, f"Refund for order #{order_id}", "refund",
                       priority_for("refund", order.total_cents, policy), "refund", now, status=RESOLVED)
    _write(ticket, None, "system", body, now)
    db.session.flush()
    return ticket.id


# --- order feedback -----------------------------------------------------------------------------

def give_feedback(order_id: int, customer: User, rating: int, comment: str, policy: SupportPolicy,
                  now: datetime | None = None) -> dict[str, Any]:
    """The customer rates their delivered order, once; a poor rating opens a ticket."""
    now = now or utcnow()
    order = db.session.scalar(select(Order).where(Order.id == order_id, Order.customer_id == customer.id)) \
        if 0 < order_id <= MAX_ID else None
    if order is None:
        db.session.rollback()
        raise NotFound("Order", order_id)
    if order.status not in RATEABLE:
        status = order.status
        db.session.rollback()
        raise Conflict(f"Order {order_id} is {status}; feedback is for delivered orders.", current_status=status)
    if db.session.scalar(select(OrderFeedback.id).where(OrderFeedback.order_id == order.id)) is not None:
        db.session.rollback()
        raise Conflict(f"Order {order_id} already has your feedback.")
    feedback = OrderFeedback(order_id=order.id, customer_id=customer.id, rating=rating, comment=comment,
                             created_at=now)
    if rating <= LOW_RATING:
        prediction = policy.classify(comment) if comment.strip() else None
        category = prediction.category if prediction else classifier.TRIAGE
        ticket = _open(customer.id, order, f"Rated {rating}/5: order #{order.id}", category,
                       priority_for(category, order.total_cents, policy, raised=1), "feedback", now, prediction)
        _write(ticket, customer, "customer", comment or f"(rated {rating} out of 5, no comment)", now)
        db.session.flush()
        feedback.ticket_id = ticket.id
    db.session.add(feedback)
    try:
        db.session.commit()
    except IntegrityError:  # the same feedback sent twice at once: the other one was first
        db.session.rollback()
        raise Conflict(f"Order {order_id} already has your feedback.") from None
    return feedback_document(feedback)


def feedback_document(feedback: OrderFeedback) -> dict[str, Any]:
    return {"order_id": feedback.order_id, "rating": feedback.rating, "comment": feedback.comment,
            "ticket_id": feedback.ticket_id, "created_at": iso(feedback.created_at)}


def order_feedback(order_id: int, customer: User) -> dict[str, Any] | None:
    """The customer's feedback on their order, if given."""
    feedback = db.session.scalar(select(OrderFeedback).where(OrderFeedback.order_id == order_id,
                                                             OrderFeedback.customer_id == customer.id))
    document = feedback_document(feedback) if feedback else None
    db.session.commit()
    return document
