"""Engine settings that differ by backend, and work that waits for a transaction's commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.orm import Session, scoped_session


def configure_engine_events(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def sqlite_pragmas(dbapi_connection, _record):
        # WAL lets readers run beside the one writer; busy_timeout makes writers queue, not fail.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def matched(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched: what every compare-and-set write checks.

    Session.execute is typed as returning a plain Result; for these statements it is a cursor's."""
    return cast(CursorResult[Any], result).rowcount


def after_commit(session: Session | scoped_session[Any], callback: Callable[[], object]) -> None:
    """Run `callback` once the session's current transaction commits; a rollback drops it.

    For effects outside the database that must not count work that never happened (a metric)."""
    session.info.setdefault("after_commit", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop("after_commit", ()):
        callback()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, _previous_transaction) -> None:
    session.info.pop("after_commit", None)
