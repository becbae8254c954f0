"""Flask-Migrate, bound only when something asks for it: `flask db ...`, or a caller of
flask_migrate's functions (the tests, the benches). Importing it imports Alembic (about 10 MiB),
which web and worker processes never use, so they do not carry it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import Flask

# Settings Flask-Migrate is bound with: the migrations beside the app, batch mode (SQLite's ALTER
# TABLE needs it) and column types compared when autogenerating.
MIGRATE_SETTINGS: dict[str, Any] = {"directory": str(Path(__file__).parent / "migrations"),
                                    "render_as_batch": True, "compare_type": True}


def bind(app: Flask) -> Any:
    """Bind Flask-Migrate to the app (once); its configuration, as app.extensions["migrate"]."""
    config = app.extensions.get("migrate")
    if isinstance(config, UnboundMigrations):
        from flask_migrate import Migrate

        from .extensions import db

        Migrate(app, db, **MIGRATE_SETTINGS)
        config = app.extensions["migrate"]
    return config


class UnboundMigrations:
    """Stands in app.extensions["migrate"] until it is read: the first read binds Flask-Migrate."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(bind(self.app), name)


class MigrationCommands(click.Group):
    """`flask db`: stands for Flask-Migrate's command group, which takes over once it is invoked."""

    def __init__(self, app: Flask) -> None:
        super().__init__("db", help="Database migrations (Alembic, through Flask-Migrate).")
        self.app = app

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        bind(self.app)
        from flask_migrate.cli import db as group

        return group.make_context(info_name, args, parent, **extra)


def init_migrations(app: Flask) -> None:
    app.extensions["migrate"] = UnboundMigrations(app)
    app.cli.add_command(MigrationCommands(app))
