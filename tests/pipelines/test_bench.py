"""The bench's report: latency over rounds (some of which may have measured none) and one web host's
capacity at its latency objective."""

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


def _mixed(capacity_steps: list[tuple[int, dict]]) -> bench.Bench:
    run = bench.Bench("http://127.0.0.1:1", bench.Server("http://127.0.0.1:2", 0), 10, 32, 1)
    run.bare = [{**MEASURED, "rps": 4000.0}]
    extra = {"capacity": capacity_steps, "listing_hit_rate": (0.97, 97, 3), "worker_rss_kib": [122_880]}
    run.scenarios = [bench.Scenario("mixed load", [MEASURED], [0.025], extra)]
    return run


def test_capacity_is_the_most_requests_per_second_within_the_latency_objective():
    steps = [(4, {**MEASURED, "rps": 300.0, "p99_ms": 40.0, "errors": 0}),
             (8, {**MEASURED, "rps": 420.0, "p99_ms": 90.0, "errors": 0}),
             (16, {**MEASURED, "rps": 450.0, "p99_ms": 180.0, "errors": 0})]
    figures = bench.capacity_report(_mixed(steps), "abc123", "2026-12-01T20:00:00+00:00")["scenarios"]["mixed load"]
    assert (figures["capacity_rps_at_p99_objective"], figures["capacity_connections"]) == (420.0, 8)


def test_no_capacity_when_every_step_misses_the_objective():
    steps = [(4, {**MEASURED, "rps": 300.0, "p99_ms": 140.0, "errors": 0})]
    figures = bench.capacity_report(_mixed(steps), "abc123", "2026-12-01T20:00:00+00:00")["scenarios"]["mixed load"]
    assert figures["capacity_rps_at_p99_objective"] is None
