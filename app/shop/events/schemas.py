from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..api import PageQuery


class DeadLetterQuery(PageQuery):
    consumer: str | None = Field(None, min_length=1, max_length=64)
    status: Literal["waiting", "replayed"] | None = None


class DeadLetterOut(BaseModel):
    id: int
    consumer: str
    event_id: int
    topic: str
    payload: dict[str, Any]
    occurred_at: datetime
    error: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    replayed_at: datetime | None


class DeadLetterPage(BaseModel):
    items: list[DeadLetterOut]
    total: int
    page: int
    per_page: int
