"""The SLO spec (slos.yml) and what it generates: SLI recording rules and burn-rate alerts.

Every error ratio is a sum of bad events over a sum of all events, for each window: never an
average of ratios.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from prometheus_client.utils import floatToGoString

import shop.metrics
from monitoring.links import annotations

SPEC = Path(__file__).with_name("slos.yml")
REQUESTS = shop.metrics.HTTP_REQUESTS._name + "_total"
LATENCY = shop.metrics.HTTP_LATENCY._name
LATENCY_BUCKETS = tuple(shop.metrics.HTTP_LATENCY._upper_bounds)


@dataclass(frozen=True)
class BurnRate:
    severity: str
    factor: float
    long: str
    short: str


@dataclass(frozen=True)
class SLO:
    name: str
    alert: str
    description: str
    objective: float
    kind: str
    routes: tuple[str, ...] = ()
    route_pattern: str = ""
    threshold_seconds: float | None = None

    def __post_init__(self) -> None:
        if bool(self.routes) == bool(self.route_pattern):
            raise ValueError(f"SLO {self.name}: give either routes or route_pattern")
        if self.kind not in ("availability", "latency"):
            raise ValueError(f"SLO {self.name}: kind must be availability or latency, not {self.kind!r}")
        if self.kind == "latency" and self.threshold_seconds not in LATENCY_BUCKETS:
            raise ValueError(f"SLO {self.name}: threshold_seconds must be one of the buckets {LATENCY_BUCKETS}")

    @property
    def alert_name(self) -> str:
        return f"Shop{self.alert}BudgetBurn"

    @property
    def error_budget(self) -> float:
        return round(1 - self.objective, 10)

    @property
    def route_regex(self) -> str:
        return self.route_pattern or "|".join(re.escape(route) for route in self.routes)

    def matches(self, route: str) -> bool:
        return re.fullmatch(self.route_regex, route) is not None

    def _selector(self, *matchers: str) -> str:
        regex = self.route_regex.replace("\\", "\\\\")  # a PromQL string escapes its backslashes
        return "{" + ",".join((f'route=~"{regex}"', *matchers)) + "}"

    def error_ratio(self, window: str) -> str:
        """Bad requests over all requests in `window`, each summed across hosts and routes first."""
        if self.kind == "availability":
            server_error = 'status=~"5.."'
            bad = f"sum(rate({REQUESTS}{self._selector(server_error)}[{window}]))"
            total = f"sum(rate({REQUESTS}{self._selector()}[{window}]))"
        else:
            le = f'le="{floatToGoString(self.threshold_seconds)}"'
            total = f"sum(rate({LATENCY}_count{self._selector()}[{window}]))"
            bad = f"({total} - sum(rate({LATENCY}_bucket{self._selector(le)}[{window}])))"
        return f"{bad}\n/\n{total}"


@dataclass(frozen=True)
class Spec:
    period: str
    slos: tuple[SLO, ...]
    burn_rates: tuple[BurnRate, ...]

    @property
    def windows(self) -> list[str]:
        """Every window a rule reads, shortest first: the alerts' and the period's."""
        windows = {w for rate in self.burn_rates for w in (rate.short, rate.long)} | {self.period}
        return sorted(windows, key=_seconds)


def load(path: Path = SPEC) -> Spec:
    raw = yaml.safe_load(path.read_text())
    return Spec(
        period=raw["period"],
        slos=tuple(SLO(**{k: tuple(v) if isinstance(v, list) else v for k, v in s.items()}) for s in raw["slos"]),
        burn_rates=tuple(BurnRate(**b) for b in raw["burn_rates"]),
    )


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _seconds(duration: str) -> int:
    return int(duration[:-1]) * _UNITS[duration[-1]]


def _ratio_record(window: str) -> str:
    return f"slo:sli_error:ratio_rate{window}"


def _format_number(value: float) -> str:
    return f"{value:g}"


def recording_rules(spec: Spec) -> list[dict]:
    rules = []
    for slo in spec.slos:
        labels = {"slo": slo.name}
        rules += [{"record": _ratio_record(w), "expr": slo.error_ratio(w), "labels": labels} for w in spec.windows]
        rules += [
            {"record": "slo:objective:ratio", "expr": f"vector({_format_number(slo.objective)})", "labels": labels},
            {
                "record": "slo:error_budget_remaining:ratio",
                "expr": f'1 - {_ratio_record(spec.period)}{{slo="{slo.name}"}} / {_format_number(slo.error_budget)}',
                "labels": labels,
            },
        ]
    return rules


def summary(slo: SLO) -> str:
    return f"The {slo.name} SLO is burning its error budget too fast."


def description(spec: Spec, slo: SLO, severity: str, value: str = "{{ $value | humanizePercentage }}") -> str:
    """The alert's description; `value` is what Prometheus puts for the long window's error ratio."""
    windows = ", ".join(f"{b.factor:g}x over {b.long} and {b.short}" for b in spec.burn_rates if b.severity == severity)
    return (f"{slo.description} Objective {slo.objective * 100:g}% over {spec.period}; the error budget burns at "
            f"one of: {windows}. {value} of requests failed it over the long window.")


def alerting_rules(spec: Spec) -> list[dict]:
    rules = []
    for slo in spec.slos:
        for severity in sorted({b.severity for b in spec.burn_rates}):
            burns = [b for b in spec.burn_rates if b.severity == severity]
            expr = "\nor\n".join(
                "(\n" + "\nand\n".join(
                    f'{_ratio_record(w)}{{slo="{slo.name}"}} > ({_format_number(b.factor)} * '
                    f"{_format_number(slo.error_budget)})"
                    for w in (b.long, b.short)
                ) + "\n)"
                for b in burns
            )
            rules.append({
                "alert": slo.alert_name,
                "expr": expr,
                "labels": {"severity": severity, "slo": slo.name},
                "annotations": annotations(slo.alert_name, summary(slo), description(spec, slo, severity), "slos"),
            })
    return rules


def rule_groups(spec: Spec) -> dict:
    return {"groups": [
        {"name": "shop-slo-recording", "rules": recording_rules(spec)},
        {"name": "shop-slo-alerts", "rules": alerting_rules(spec)},
    ]}
