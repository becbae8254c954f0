"""Customer and staff accounts: registration, password checks, API tokens."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import Conflict, Problem
from ..extensions import db
from .models import User

TOKEN_SALT = "shopstack-api-token"
# A hash to compare against when the email is unknown, so timing does not reveal accounts.
_UNKNOWN_USER_HASH = generate_password_hash("unknown-user")


def register(email: str, password: str, name: str, role: str = "customer") -> User:
    user = User(email=email.lower(), name=name, role=role, password_hash=generate_password_hash(password))
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"An account for {email.lower()} already exists.", field="email") from None
    return user


def authenticate(email: str, password: str) -> User:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if not check_password_hash(user.password_hash if user else _UNKNOWN_USER_HASH, password) or user is None:
        raise Problem(401, "Unauthorized", "The email or password is wrong.", type_="bad-credentials")
    return user


def issue_token(user: User, secret_key: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT).dumps({"uid": user.id, "epoch": user.auth_epoch})


def user_from_token(token: str, secret_key: str, max_age: int) -> User | None:
    try:
        data = URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    return signed_in_user(data.get("uid"), data.get("epoch", 0))


def signed_in_user(user_id, epoch) -> User | None:
    """The user a session or token names, unless they logged out since it was issued."""
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    return user if user is not None and epoch == user.auth_epoch else None


def end_sessions(user: User) -> None:
    """Logging out voids every session and token the user was given so far, on every device."""
    db.session.execute(update(User).where(User.id == user.id).values(auth_epoch=User.auth_epoch + 1))
    db.session.commit()
