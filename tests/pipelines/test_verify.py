"""The verify step's reading of wrk, its gate and its comparison with the previous release."""

from __future__ import annotations

import json

from pipelines import verify

# wrk pads a one-letter unit to two characters: a latency in seconds ends its line in a space.
WRK_OUTPUT = """\
Running 5s test @ http://172.29.77.10/
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.31ms    4.02ms  80.11ms   90.12%
    Req/Sec   325.10     30.22   400.00     70.00%
  Latency Distribution
     50%   11.50ms
     75%   13.20ms
     90%   16.90ms
     99%    1.20s\x20
  3251 requests in 5.00s, 1.10MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:    650.20
Transfer/sec:    220.00KB
"""


def test_wrk_output_is_read_into_figures():
    figures = verify.parse_wrk(WRK_OUTPUT)
    assert figures == {"rps": 650.2, "requests": 3251, "p50_ms": 11.5, "p75_ms": 13.2, "p90_ms": 16.9,
                       "p99_ms": 1200.0, "non_2xx": 4, "timeouts": 1, "errors": 7}
    assert verify.latency_missing(figures) == ""


def test_a_latency_over_a_second_is_read():
    # Captured from wrk 4.1.0 against a server answering in 1 to 4 s.
    output = """\
Running 5s test @ http://127.0.0.1:18792/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.30s   762.11ms   3.98s    64.29%
    Req/Sec     7.09      5.23    30.00     91.18%
  Latency Distribution
     50%    2.14s\x20
     75%    2.85s\x20
     90%    3.41s\x20
     99%    3.98s\x20
  42 requests in 5.07s, 5.09KB read
Requests/sec:      8.28
Transfer/sec:      1.00KB
"""
    figures = verify.parse_wrk(output)
    assert (figures["p50_ms"], figures["p99_ms"]) == (2140.0, 3980.0)


def test_a_run_whose_requests_all_timed_out_says_so():
    # Captured from wrk 4.1.0 with --timeout 1s against a server answering in 3 s.
    output = """\
Running 3s test @ http://127.0.0.1:18792/
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.00us    0.00us   0.00us    -nan%
    Req/Sec     0.00      0.00     0.00    100.00%
  Latency Distribution
     50%    0.00us
     75%    0.00us
     90%    0.00us
     99%    0.00us
  1 requests in 3.05s, 124.00B read
  Socket errors: connect 0, read 0, write 0, timeout 1
Requests/sec:      0.33
Transfer/sec:      40.64B
"""
    assert verify.latency_missing(verify.parse_wrk(output)) == (
        "no latency: 1 requests timed out and none finished in time"
    )


def test_the_gate_fails_on_errors_and_on_a_slow_p99():
    slow = {**verify.parse_wrk(WRK_OUTPUT), "p99_ms": verify.MAX_P99_MS + 1}
    problems = verify.gate({"listing": slow})
    assert len(problems) == 2 and "0.22 % errors (7 of 3251)" in problems[0] and "p99" in problems[1]


def test_the_gate_passes_a_clean_route():
    clean = {**verify.parse_wrk(WRK_OUTPUT), "errors": 0}
    assert verify.gate({"listing": clean}) == []


def test_the_report_is_compared_with_the_previous_release(tmp_path):
    figures = verify.parse_wrk(WRK_OUTPUT)
    for release, at, rps in (("r1", "2026-12-01T09:00:00+00:00", 500.0), ("r0", "2026-11-30T09:00:00+00:00", 1.0)):
        report = {"release": release, "at": at, "routes": {"listing": {**figures, "rps": rps, "p99_ms": 1000.0}}}
        (tmp_path / f"{release}.json").write_text(json.dumps(report))
    before = verify.previous_report(tmp_path, "r2")
    lines = verify.compare({"release": "r2", "routes": {"listing": figures}}, before)
    assert before["release"] == "r1" and "vs r1" in lines[0] and "+30.0 %,  +200.0 ms" in lines[1]


def test_the_first_report_has_nothing_to_compare_with(tmp_path):
    assert verify.previous_report(tmp_path, "r1") is None
