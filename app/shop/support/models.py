"""Tickets, their messages, the staff's corrections of the classifier, and order feedback."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..columns import UtcDateTime, utcnow
from ..extensions import BaseModel

# Who opened a ticket: the customer, or an event of the shop on their behalf.
SOURCES = ("customer", "delivery", "refund", "feedback")
# Who wrote a message: the customer, staff, or the shop itself (an event's note).
AUTHOR_ROLES = ("customer", "staff", "system")


class Ticket(BaseModel):
    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16), index=True)
    # What the classifier said and how sure it was (null when staff or an event chose the category).
    predicted_category: Mapped[str | None] = mapped_column(String(16))
    confidence: Mapped[float | None] = mapped_column(Float)
    priority: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(16))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Since when the customer has been waiting for the shop's answer; the answer is due at due_at.
    waiting_since: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    customer: Mapped[User] = relationship(foreign_keys=[customer_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    messages: Mapped[list[TicketMessage]] = relationship(back_populates="ticket", order_by="TicketMessage.id",
                                                         cascade="all, delete-orphan")


class TicketMessage(BaseModel):
    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_role: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship()


class CategoryCorrection(BaseModel):
    """Staff re-categorised a ticket: the text and the right category, kept for retraining."""

    __tablename__ = "ticket_category_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    predicted_category: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16))
    staff_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class OrderFeedback(BaseModel):
    """A customer's rating of a delivered order: one per order."""

    __tablename__ = "order_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    rating: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
