"""Counting the SQL statements one request runs (not what runs after its answer, like the outbox relay)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, request_finished
from sqlalchemy import event

from shop.extensions import db


@contextmanager
def statements_run(app: Flask) -> Iterator[list[str]]:
    """The statements run from entering the block until the first request in it has answered."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def stop_counting(sender, response, **extra):
        if event.contains(db.engine, "before_cursor_execute", count):
            event.remove(db.engine, "before_cursor_execute", count)

    event.listen(db.engine, "before_cursor_execute", count)
    request_finished.connect(stop_counting, app)
    try:
        yield statements
    finally:
        request_finished.disconnect(stop_counting, app)
        if event.contains(db.engine, "before_cursor_execute", count):
            event.remove(db.engine, "before_cursor_execute", count)
