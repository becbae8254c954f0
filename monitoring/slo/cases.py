"""promtool unit tests of the burn-rate alerts, one set per SLO in the spec.

Three histories per SLO, at a steady rate of requests: every request bad (both the page and the
ticket fire), four times the budget's rate bad (only the ticket fires), none bad (nothing fires).
"""

from __future__ import annotations

from prometheus_client.utils import floatToGoString

from monitoring.links import annotations
from monitoring.slo import LATENCY, REQUESTS, SLO, Spec, description, summary

REQUESTS_PER_MINUTE = 1000
# Long enough for the 2h window to be full; the longer windows work on what there is.
MINUTES = 150
EVAL_TIME = "130m"
PAGE, TICKET = "critical", "warning"


def _example_route(spec: Spec, slo: SLO) -> str:
    """A route the SLO counts: its first listed one, or the first of the spec's that matches."""
    listed = [route for s in spec.slos for route in s.routes]
    return next(route for route in (*slo.routes, *listed) if slo.matches(route))


def _series(spec: Spec, slo: SLO, bad_per_minute: int) -> list[dict]:
    labels = f'method="POST",route="{_example_route(spec, slo)}"'
    good = REQUESTS_PER_MINUTE - bad_per_minute
    if slo.kind == "availability":
        return [
            {"series": f'{REQUESTS}{{{labels},status="500"}}', "values": f"0+{bad_per_minute}x{MINUTES}"},
            {"series": f'{REQUESTS}{{{labels},status="200"}}', "values": f"0+{good}x{MINUTES}"},
        ]
    le = floatToGoString(slo.threshold_seconds)
    return [
        {"series": f"{LATENCY}_count{{{labels}}}", "values": f"0+{REQUESTS_PER_MINUTE}x{MINUTES}"},
        {"series": f'{LATENCY}_bucket{{{labels},le="{le}"}}', "values": f"0+{good}x{MINUTES}"},
    ]


def _fired(spec: Spec, slo: SLO, severity: str, ratio: float) -> dict:
    return {
        "exp_labels": {"severity": severity, "slo": slo.name},
        "exp_annotations": annotations(slo.alert_name, summary(slo),
                                       description(spec, slo, severity, value=f"{ratio * 100:.4g}%"), "slos"),
    }


def _case(spec: Spec, slo: SLO, bad_per_minute: int, severities: tuple[str, ...]) -> dict:
    ratio = bad_per_minute / REQUESTS_PER_MINUTE
    return {
        "name": f"{slo.name}: {bad_per_minute} of {REQUESTS_PER_MINUTE} requests a minute bad",
        "interval": "1m",
        "input_series": _series(spec, slo, bad_per_minute),
        "alert_rule_test": [{
            "eval_time": EVAL_TIME,
            "alertname": slo.alert_name,
            "exp_alerts": [_fired(spec, slo, s, ratio) for s in severities],
        }],
    }


def promtool_tests(spec: Spec) -> dict:
    tests = []
    for slo in spec.slos:
        slow_burn = round(4 * slo.error_budget * REQUESTS_PER_MINUTE)
        tests += [
            _case(spec, slo, REQUESTS_PER_MINUTE, (PAGE, TICKET)),
            _case(spec, slo, slow_burn, (TICKET,)),
            _case(spec, slo, 0, ()),
        ]
    return {"rule_files": ["../rules/slos.yml"], "evaluation_interval": "5m", "tests": tests}
