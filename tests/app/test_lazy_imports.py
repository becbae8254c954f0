"""Flask-Migrate (and Alembic under it) is bound only when asked for: `flask db` works, while
the web and worker processes, which never migrate, do not carry it; nor scikit-learn, which only
the ticket classifier needs, until it classifies."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run_python(arguments: list[str], tmp_path) -> subprocess.CompletedProcess:
    """The shop in a process of its own (this one imported Alembic long ago), on the embedded default."""
    environment = {"SHOP_INSTANCE_DIR": str(tmp_path), "FLASK_APP": "shop", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, *arguments], env=environment, capture_output=True, text=True,
                          check=False, timeout=120)


def test_flask_db_reads_the_migrations(tmp_path):
    completed = run_python(["-m", "flask", "db", "heads"], tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "(head)" in completed.stdout


def test_flask_db_passes_its_options_on(runner, caplog):
    result = runner.invoke(args=["db", "--directory", "no-such-directory", "heads"])
    assert result.exit_code == 1
    assert "no-such-directory" in caplog.text


@pytest.mark.parametrize("module", ["alembic", "sklearn"])
def test_an_app_that_serves_does_not_import_what_it_rarely_needs(module, tmp_path):
    program = ("import sys; from shop import create_app; create_app(); "
               f"sys.exit('{module} was imported' if '{module}' in sys.modules else 0)")
    completed = run_python(["-c", program], tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
