"""The shop's monitoring as code: SLOs, alerting rules, Alertmanager routing, dashboards."""
