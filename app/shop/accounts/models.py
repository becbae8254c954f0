from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..columns import UtcDateTime, utcnow
from ..extensions import BaseModel

ROLES = ("customer", "staff")


class User(BaseModel):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="customer")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Rises at every logout; a session cookie or API token issued in an earlier epoch is void.
    auth_epoch: Mapped[int] = mapped_column(default=0, server_default="0")

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"
