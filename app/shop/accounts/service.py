"""Customer, staff and guest accounts: registration, password checks, API tokens."""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import Conflict, Problem
from ..extensions import db
from .models import User

TOKEN_SALT = "shopstack-api-token"
# The role of an account made for a guest's checkout: no login, its orders reached by signed links.
GUEST = "guest"
# A hash to compare against when the email is unknown, so timing does not reveal accounts.
_UNKNOWN_USER_HASH = generate_password_hash("unknown-user")


def register(email: str, password: str, name: str, role: str = "customer") -> User:
    """A new account; registering with the address a guest checked out with makes the guest's
    account a full one, their orders with it."""
    user = User(email=email.lower(), name=name, role=role, password_hash=generate_password_hash(password))
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        claimed = db.session.execute(
            update(User).where(func.lower(User.email) == email.lower(), User.role == GUEST)
            .values(name=name, role=role, password_hash=user.password_hash).returning(User.id)).scalar()
        db.session.commit()
        if claimed is None:
            raise Conflict(f"An account for {email.lower()} already exists.", field="email") from None
        return db.session.get_one(User, claimed)
    return user


def guest_for(email: str, name: str) -> User:
    """The account a guest's orders are placed under: one per e-mail address, never logged in
    to (its password is random and unknown). An address with a real account must log in."""
    found = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if found is None:
        db.session.add(User(email=email.lower(), name=name, role=GUEST,
                            password_hash=generate_password_hash(secrets.token_urlsafe(32))))
        try:
            db.session.commit()
        except IntegrityError:  # the same guest checking out twice at once: the other made it
            db.session.rollback()
        found = db.session.scalars(select(User).where(func.lower(User.email) == email.lower())).one()
    if found.role != GUEST:
        raise Conflict(f"An account for {email.lower()} exists; log in to check out with it.", field="email")
    return found


def guest(user_id: int) -> User | None:
    user = db.session.get(User, user_id)
    return user if user is not None and user.role == GUEST else None


def user_by_id(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def authenticate(email: str, password: str) -> User:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if (not check_password_hash(user.password_hash if user else _UNKNOWN_USER_HASH, password) or user is None
            or user.role == GUEST):
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


def signed_in_user(user_id: object, epoch: object) -> User | None:
    """The user a session or token names, unless they logged out since it was issued."""
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    return user if user is not None and epoch == user.auth_epoch else None


def end_sessions(user: User) -> None:
    """Logging out voids every session and token the user was given so far, on every device."""
    db.session.execute(update(User).where(User.id == user.id).values(auth_epoch=User.auth_epoch + 1))
    db.session.commit()
