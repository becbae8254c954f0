from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictInt

from ..api import Id, PageQuery, Schema
from .classifier import CATEGORIES
from .models import AUTHOR_ROLES, SOURCES
from .service import PRIORITIES
from .workflow import STATUSES

Category = Literal[CATEGORIES]  # type: ignore[valid-type]
Priority = Literal[PRIORITIES]  # type: ignore[valid-type]
Status = Literal[STATUSES]  # type: ignore[valid-type]


class NewTicket(Schema):
    subject: str = Field(min_length=1, max_length=200)
    message: str = Field(min_length=1, max_length=5000)
    order_id: Id | None = Field(None, description="One of the customer's orders the question is about")


class NewMessage(Schema):
    body: str = Field(min_length=1, max_length=5000)


class TicketTransition(Schema):
    to: Status = Field(description="Customers may resolve, close, or reopen (open) a resolved ticket")


class TicketUpdate(Schema):
    """Staff triage; a field left out is left as it is (assignee_id null unassigns)."""

    category: Category | None = None
    priority: Priority | None = None
    assignee_id: Id | None = None


class TicketQuery(PageQuery):
    status: Status | None = None
    category: Category | None = None
    priority: Priority | None = None
    assignee_id: int | None = Field(None, ge=1, le=2**31 - 1, description="Staff: tickets assigned to this member")
    unassigned: bool = Field(False, description="Staff: only tickets nobody is assigned to")
    overdue: bool | None = Field(None, description="Only open tickets whose answer is late (true) or the others")
    order_id: int | None = Field(None, ge=1, le=2**31 - 1)


class MessageOut(BaseModel):
    id: int
    author: Literal[AUTHOR_ROLES]  # type: ignore[valid-type]
    author_name: str | None
    body: str
    created_at: datetime


class TicketSummaryOut(BaseModel):
    id: int
    customer_id: int
    order_id: int | None
    subject: str
    status: Status
    category: Category
    predicted_category: Category | None = Field(description="What the classifier said (null if it was not asked)")
    confidence: float | None = Field(description="The classifier's confidence in predicted_category, 0..1")
    priority: Priority
    source: Literal[SOURCES]  # type: ignore[valid-type]
    assignee_id: int | None
    due_at: datetime = Field(description="When the shop's answer is due")
    overdue: bool = Field(description="Open, and the answer is late")
    created_at: datetime
    updated_at: datetime


class TicketOut(TicketSummaryOut):
    customer_name: str
    assignee_name: str | None
    messages: list[MessageOut]


class TicketPage(BaseModel):
    items: list[TicketSummaryOut]
    total: int
    page: int
    per_page: int


class NewFeedback(Schema):
    rating: StrictInt = Field(ge=1, le=5)
    comment: str = Field("", max_length=2000)


class FeedbackOut(BaseModel):
    order_id: int
    rating: int
    comment: str
    ticket_id: int | None = Field(description="The ticket a poor rating opened")
    created_at: datetime
