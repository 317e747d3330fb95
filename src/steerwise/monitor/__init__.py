"""Monitoring: per-deployment metrics, drift and alerts from the facts stored with each trace."""

from steerwise.monitor.metrics import DeploymentMetrics, Monitor

__all__ = ["DeploymentMetrics", "Monitor"]
