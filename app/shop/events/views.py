"""The dead letters API, for staff: what ran out of retries, and replaying it."""

from __future__ import annotations

from flask import Blueprint, current_app

from ..api import operation, page_of
from . import dead_letters
from .schemas import DeadLetterOut, DeadLetterPage, DeadLetterQuery

bp = Blueprint("dead_letters", __name__, url_prefix="/api/v1/staff")


@bp.get("/dead-letters")
@operation("Staff: events a consumer failed on after its last retry, newest failure first", tags=["events"],
           query=DeadLetterQuery, response=DeadLetterPage, auth="staff")
def list_dead_letters(query: DeadLetterQuery):
    items, total = dead_letters.list_dead_letters(query.page, query.per_page, query.consumer, query.status)
    return page_of(items, total, query)


@bp.get("/dead-letters/<int:letter_id>")
@operation("Staff: a dead letter with its event, error and attempts", tags=["events"], response=DeadLetterOut,
           auth="staff")
def show_dead_letter(letter_id: int):
    return dead_letters.get_dead_letter(letter_id)


@bp.post("/dead-letters/<int:letter_id>/replay")
@operation("Staff: send a dead letter's event to its consumer again (once; a replayed letter is left as it is)",
           tags=["events"], response=DeadLetterOut, auth="staff")
def replay_dead_letter(letter_id: int):
    return dead_letters.replay_dead_letter(letter_id, current_app.config["BROKER_URL"])
