"""The step runner: each step's result and duration, and a failing step fails the pipeline."""

from __future__ import annotations

import time

from pipelines.runner import Step, StepFailed, report, run_steps


def _sleep(seconds: float, summary: str = "done") -> Step:
    def action() -> str:
        time.sleep(seconds)
        return summary

    return Step(f"sleep {seconds}", action)


def _fail(message: str) -> str:
    raise StepFailed(message)


def test_each_step_reports_its_result_and_duration():
    results = run_steps([_sleep(0.05, "first"), _sleep(0.1, "second")])
    assert [(r.ok, r.summary) for r in results] == [(True, "first"), (True, "second")]
    assert results[0].seconds >= 0.05 and results[1].seconds >= 0.1


def test_a_failing_step_stops_the_pipeline_and_fails_it(capsys):
    steps = [_sleep(0), Step("broken", lambda: _fail("smoke test failed")), _sleep(0)]
    results = run_steps(steps)
    assert [r.ok for r in results] == [True, False]
    assert report(steps, results) == 1
    out = capsys.readouterr().out
    assert "broken" in out and "FAILED" in out and "smoke test failed" in out and "skipped" in out


def test_a_crashing_step_is_a_failed_step():
    results = run_steps([Step("crash", lambda: str(1 / 0))])
    assert not results[0].ok and "ZeroDivisionError" in results[0].summary


def test_keep_going_runs_every_step():
    results = run_steps([Step("broken", lambda: _fail("no")), _sleep(0)], keep_going=True)
    assert [r.ok for r in results] == [False, True]


def test_a_passing_pipeline_exits_zero(capsys):
    steps = [_sleep(0)]
    assert report(steps, run_steps(steps)) == 0
    assert "pipeline passed" in capsys.readouterr().out
