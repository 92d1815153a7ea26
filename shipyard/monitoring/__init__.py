"""Monitoring: Prometheus and Alertmanager configuration rendered for an environment, the
monitoring compose profile, its status, test alerts and dashboards (docs/monitoring.md)."""
