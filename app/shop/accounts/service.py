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


class GuestAddress(Conflict):
    """Registering with the address a guest checked out with. Typing an address proves nothing:
    the guest's orders become an account only through the link e-mailed to it (`claim_token`)."""

    def __init__(self, guest: User) -> None:
        super().__init__(f"Orders were placed as a guest with {guest.email}: we have e-mailed it a link to "
                         "finish the account, with those orders.", field="email")
        self.guest = guest


def register(email: str, password: str, name: str, role: str = "customer") -> User:
    """A new account. An address a guest checked out with raises GuestAddress: only whoever reads
    that address's mail may turn the guest's account into theirs (`claim_guest`)."""
    user = User(email=email.lower(), name=name, role=role, password_hash=generate_password_hash(password))
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        found = db.session.scalars(select(User).where(func.lower(User.email) == email.lower())).one()
        if found.role == GUEST:
            raise GuestAddress(found) from None
        raise Conflict(f"An account for {email.lower()} already exists.", field="email") from None
    return user


CLAIM_SALT = "shopstack-claim-guest"


def _signed(user: User, secret_key: str, salt: str) -> str:
    """A token naming the user and their auth epoch: logging out (or claiming) moves the epoch on,
    and every token signed before stops working."""
    return URLSafeTimedSerializer(secret_key, salt=salt).dumps({"uid": user.id, "epoch": user.auth_epoch})


def _user_signed(token: str, secret_key: str, salt: str, max_age: int) -> User | None:
    """The user a token names, while it is valid, unexpired and of their current epoch; else None."""
    try:
        data = URLSafeTimedSerializer(secret_key, salt=salt).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    return signed_in_user(data.get("uid"), data.get("epoch", 0)) if isinstance(data, dict) else None


def claim_token(guest: User, secret_key: str) -> str:
    """The token of the link that finishes an account on a guest's address; it works once."""
    return _signed(guest, secret_key, CLAIM_SALT)


def guest_by_claim_token(token: str, secret_key: str, max_age: int) -> User | None:
    """The guest a claim link names, while it is valid, unexpired and unused; else None."""
    user = _user_signed(token, secret_key, CLAIM_SALT, max_age)
    return user if user is not None and user.role == GUEST else None


def claim_guest(guest: User, name: str, password: str) -> User:
    """Turn the guest's account (found by its claim link) into a customer's, orders and all; a
    link used meanwhile (the epoch moved on) claims nothing."""
    claimed = db.session.execute(
        update(User).where(User.id == guest.id, User.role == GUEST, User.auth_epoch == guest.auth_epoch)
        .values(name=name, role="customer", password_hash=generate_password_hash(password),
                auth_epoch=User.auth_epoch + 1).returning(User.id)).scalar()
    db.session.commit()
    if claimed is None:
        raise Conflict("This link has been used already: log in with the account it made.")
    db.session.expire_all()
    return db.session.get_one(User, claimed)


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
    return _signed(user, secret_key, TOKEN_SALT)


def user_from_token(token: str, secret_key: str, max_age: int) -> User | None:
    return _user_signed(token, secret_key, TOKEN_SALT, max_age)


def signed_in_user(user_id: object, epoch: object) -> User | None:
    """The user a session or token names, unless they logged out since it was issued."""
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    return user if user is not None and epoch == user.auth_epoch else None


def end_sessions(user: User) -> None:
    """Logging out voids every session and token the user was given so far, on every device."""
    db.session.execute(update(User).where(User.id == user.id).values(auth_epoch=User.auth_epoch + 1))
    db.session.commit()
