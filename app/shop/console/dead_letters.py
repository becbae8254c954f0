"""The staff console's dead letters page: what ran out of retries, and a replay button for each."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for

from ..api import parse
from ..events import dead_letters
from ..events.schemas import DeadLetterQuery
from ..storefront.forms import attempt
from . import console_blueprint

bp = console_blueprint("console_dead_letters", __name__)


@bp.get("/dead-letters")
def dead_letter_list():
    query = parse(DeadLetterQuery, request.args.to_dict(), "query")
    letters, total = dead_letters.list_dead_letters(query.page, query.per_page, query.consumer, query.status)
    return render_template("console/dead_letters.html", letters=letters, total=total, query=query)


@bp.post("/dead-letters/<int:letter_id>/replay")
def replay(letter_id: int):
    attempt(lambda: dead_letters.replay_dead_letter(letter_id, current_app.config["BROKER_URL"]),
            lambda letter: f"Event {letter['event_id']} was sent to {letter['consumer']} again.")
    return redirect(url_for(".dead_letter_list"))
