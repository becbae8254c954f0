"""The check step's own verdicts: the dependency audit, the infra mypy ratchet, the CLI's refusals."""

from __future__ import annotations

import json
import subprocess

import pytest

from pipelines import __main__ as cli
from pipelines import audit, check
from pipelines.runner import StepFailed

LOCKED = {"flask": "3.1.3", "jinja2": "3.1.5", "gunicorn": "23.0.0", "redis": "6.0.0"}


@pytest.fixture
def pypi(monkeypatch, tmp_path):
    """pip-audit skips what PyPI's per-release JSON cannot answer; the project JSON says the newest."""
    monkeypatch.setattr(audit, "REPORTS", tmp_path)
    monkeypatch.setattr(audit, "locked_packages", lambda: dict(LOCKED))
    answers = {"flask": ("3.1.3", []), "jinja2": ("3.1.6", []), "gunicorn": ("23.0.0", ["PYSEC-2099-1"])}
    monkeypatch.setattr(audit, "_newest_release", answers.get)
    report = {"dependencies": [
        {"name": "flask", "version": "3.1.3", "skip_reason": "Dependency not found on PyPI"},
        {"name": "jinja2", "version": "3.1.5", "skip_reason": "Dependency not found on PyPI"},
        {"name": "gunicorn", "version": "23.0.0", "skip_reason": "Dependency not found on PyPI"},
        {"name": "redis", "version": "6.0.0", "vulns": []},
    ]}
    monkeypatch.setattr(audit, "_pip_audit", lambda locked: report)
    return answers


def test_a_vulnerability_in_a_locked_release_fails_the_audit(pypi):
    with pytest.raises(StepFailed, match="gunicorn 23.0.0: PYSEC-2099-1"):
        audit.run()


def test_the_audit_says_what_it_could_not_audit(pypi):
    pypi["gunicorn"] = ("23.0.0", [])
    summary = audit.run()
    assert summary.startswith("3 of 4 locked packages audited (1 by pip-audit against PyPI, 2 from PyPI's "
                              "newest-release data); 0 vulnerable; NOT audited: 1")
    assert summary.endswith(": jinja2")


def test_a_strict_audit_fails_on_what_it_could_not_audit(pypi):
    pypi["gunicorn"] = ("23.0.0", [])
    with pytest.raises(StepFailed, match="NOT audited: 1"):
        audit.run(strict=True)


def test_the_lock_file_is_read_without_the_project_itself():
    locked = audit.locked_packages()
    assert "flask" in locked and "shopstack" not in locked


def _mypy(output: str) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], 1, output, "")


def test_infra_may_not_gain_strict_errors(tmp_path, monkeypatch):
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"infra/config.py": 1}))
    monkeypatch.setattr(check, "MYPY_INFRA_BASELINE", baseline)
    output = "infra/config.py:3: error: x  [misc]\ninfra/cost.py:9: error: y  [misc]\n"
    with pytest.raises(StepFailed, match=r"infra/cost.py \(0 -> 1\)"):
        check._mypy_infra(_mypy(output))


def test_infra_fixing_strict_errors_asks_to_lower_the_baseline(tmp_path, monkeypatch):
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"infra/config.py": 2}))
    monkeypatch.setattr(check, "MYPY_INFRA_BASELINE", baseline)
    assert "1 fixed: lower" in check._mypy_infra(_mypy("infra/config.py:3: error: x  [misc]\n"))


def test_the_cli_refuses_a_preview_without_the_policy_pack(capsys):
    assert cli.main(["preview", "--stack", "prod", "--policy-pack", ""]) == 1
    assert "refusing to run pulumi preview on prod without the policy pack" in capsys.readouterr().out
