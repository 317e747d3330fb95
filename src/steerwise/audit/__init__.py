"""The tamper-evident audit log."""

from steerwise.audit.log import AuditLog

__all__ = ["AuditLog"]
