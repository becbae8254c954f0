"""Where an alert points the person it wakes: its runbook and the dashboard to open first."""

from __future__ import annotations

# The runbooks as the on-call engineer reads them: this repository's monitoring/runbooks/.
RUNBOOK_BASE_URL = "https://github.com/shopstack/shopstack/blob/main/monitoring/runbooks"
# The Grafana the provisioned dashboards are served by.
GRAFANA_BASE_URL = "https://grafana.shopstack.dev"

# Every dashboard by its key: (uid, title). The uid is what links use; the title what people see.
DASHBOARDS = {
    "overview": ("shop-overview", "Shop / Service overview"),
    "slos": ("shop-slos", "Shop / SLOs and error budgets"),
    "business": ("shop-business", "Shop / Business"),
    "queues": ("shop-queues", "Shop / Worker and queues"),
    "hosts": ("shop-hosts", "Shop / Hosts"),
}


def runbook_url(alert: str) -> str:
    return f"{RUNBOOK_BASE_URL}/{alert}.md"


def dashboard_url(key: str) -> str:
    uid, _title = DASHBOARDS[key]
    return f"{GRAFANA_BASE_URL}/d/{uid}"


def annotations(alert: str, summary: str, description: str, dashboard: str) -> dict[str, str]:
    """Every alert's annotations: what it is, this firing, and where to go next."""
    return {"summary": summary, "description": description, "runbook_url": runbook_url(alert),
            "dashboard_url": dashboard_url(dashboard)}
