"""The bench's report of latency over rounds, some of which may have measured none."""

from __future__ import annotations

from pipelines import bench

MEASURED = {"rps": 100.0, "requests": 1000, "p50_ms": 20.0, "p99_ms": 1200.0, "non_2xx": 0, "timeouts": 0.0}
TIMED_OUT = {"rps": 0.3, "requests": 1, "p50_ms": 0.0, "p99_ms": 0.0, "non_2xx": 0, "timeouts": 40.0}


def test_latency_medians_skip_the_rounds_that_measured_none():
    scenario = bench.Scenario("checkout", [MEASURED, TIMED_OUT, {**MEASURED, "p99_ms": 1400.0}], [], {})
    assert (scenario.median("p99_ms"), scenario.median("rps")) == (1300.0, 100.0)


def test_a_scenario_without_any_latency_says_why():
    scenario = bench.Scenario("checkout", [TIMED_OUT], [], {})
    assert scenario.median("p50_ms") is None
    assert scenario.latency_gaps() == ["round 1: no latency: 40 requests timed out and none finished in time"]
