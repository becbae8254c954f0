from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from ..api import Schema

# A password is compared exactly as typed: the Schema base trims other strings, never this one.
Password = Annotated[str, StringConstraints(strip_whitespace=False)]


class Registration(Schema):
    email: EmailStr
    password: Password = Field(min_length=8, max_length=200)
    name: str = Field(min_length=1, max_length=120)


class GuestContact(Schema):
    """Who a guest's order is for: the confirmation goes to this address."""

    email: EmailStr


class Credentials(Schema):
    email: EmailStr
    password: Password = Field(min_length=1, max_length=200)


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: str


class TokenOut(BaseModel):
    token: str
    token_type: str = "Bearer"
    expires_in: int
    user: UserOut
