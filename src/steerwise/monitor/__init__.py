"""Monitoring: per-deployment metrics from the facts stored with each trace."""

from steerwise.monitor.metrics import DeploymentMetrics, Monitor, parse_window

__all__ = ["DeploymentMetrics", "Monitor", "parse_window"]
