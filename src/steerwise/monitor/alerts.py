"""Alerts: rules over a deployment's metrics, incidents when they fire, webhooks, recovery.

`AlertEngine.evaluate()` reads each rule's metric over its window (`Monitor.metrics`). A rule
that crosses its line with at least `min_requests` requests in the window opens an incident
(unless one is open already: no repeated notifications while it lasts) holding the figures,
the newest traces that show it, the release serving at the time and the one command that
would roll it back; a rule back within its line resolves its open incident and sends a
recovery. Opening and resolving are audited (actor `system:alerts`); every notification's
outcome is kept on the incident. `steerwise monitor watch` runs the evaluation in a loop, and
`steerwise serve` in the background every `[alerts] interval_s`.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from steerwise.audit import AuditLog
from steerwise.core.alerts import QUANTILE_NAMES, AlertRule, Incident
from steerwise.core.audit import AuditEntry
from steerwise.core.clock import utc_now
from steerwise.monitor.metrics import DeploymentMetrics, Monitor
from steerwise.monitor.webhooks import WebhookNotifier
from steerwise.store import Store

log = logging.getLogger(__name__)

ACTOR = "system:alerts"
EXAMPLES = 5


def metric_value(metrics: DeploymentMetrics, name: str) -> float | None:
    """A rule's metric read from a window's figures (None: no data, e.g. no requests)."""
    stem, _, quantile = name.rpartition("_")
    if quantile in QUANTILE_NAMES:
        figures = metrics.latency if stem == "latency" else metrics.steps.get(stem)
        return None if figures is None else getattr(figures, quantile)
    value = getattr(metrics, name)
    return None if value is None else float(value)


def breaches(rule: AlertRule, value: float) -> bool:
    """Whether `value` is past the rule's line."""
    if rule.above is not None:
        return value > rule.above
    return rule.below is not None and value < rule.below


class AlertEngine:
    """Evaluates a workspace's alert rules (module docstring)."""

    def __init__(
        self,
        store: Store,
        monitor: Monitor,
        rules: Sequence[AlertRule],
        notifier: WebhookNotifier,
        *,
        serving: Callable[[str], str | None],
    ) -> None:
        self._store = store
        self._monitor = monitor
        self._rules = tuple(rules)
        self._notifier = notifier
        self._serving = serving

    @property
    def rules(self) -> tuple[AlertRule, ...]:
        return self._rules

    def evaluate(self, *, until: datetime | None = None) -> list[Incident]:
        """Check every rule now (or as of `until`); the incidents opened or resolved."""
        changed = []
        for rule in self._rules:
            metrics = self._monitor.metrics(rule.deployment, window=rule.window, until=until)
            value = metric_value(metrics, rule.metric)
            firing = (
                metrics.requests >= rule.min_requests
                and value is not None
                and breaches(rule, value)
            )
            current = self._open_incident(rule.name)
            if firing and current is None:
                changed.append(self._open(rule, metrics, value, until))
            elif not firing and current is not None:
                changed.append(self._resolve(current, value))
        return changed

    def incidents(self, *, status: str | None = None, limit: int = 50) -> list[Incident]:
        """Incidents, newest first (`status`: open or resolved)."""
        with self._store.read() as tx:
            return [_incident(body) for body in tx.incidents.items(status=status, limit=limit)]

    def get(self, incident_id: str) -> Incident:
        """One incident by id or unique prefix."""
        with self._store.read() as tx:
            hint = "see: steerwise incidents list"
            return _incident(tx.incidents.one(incident_id, noun="incident", hint=hint))

    def _open_incident(self, rule: str) -> Incident | None:
        with self._store.read() as tx:
            body = tx.incidents.open_for(rule)
        return None if body is None else _incident(body)

    def _open(
        self,
        rule: AlertRule,
        metrics: DeploymentMetrics,
        value: float | None,
        until: datetime | None,
    ) -> Incident:
        incident = Incident(
            id=uuid.uuid4().hex,
            rule=rule.name,
            deployment=rule.deployment,
            severity=rule.severity,
            status="open",
            opened_at=utc_now(),
            resolved_at=None,
            metric=rule.metric,
            condition=rule.condition,
            value=value,
            window=rule.window,
            requests=metrics.requests,
            trace_ids=self._monitor.examples(
                rule.deployment,
                _example_condition(rule.metric),
                window=rule.window,
                until=until,
                limit=EXAMPLES,
            ),
            release=self._serving(rule.deployment),
            suggestion=_suggestion(rule.deployment),
            notifications=[],
        )
        with self._store.write() as tx:
            tx.incidents.add(incident.to_dict())
            entry = AuditEntry("incident.open", f"incident:{incident.id}", None, _summary(incident))
            AuditLog.record(tx, ACTOR, entry)
        return self._notify(incident, "incident.opened")

    def _resolve(self, incident: Incident, value: float | None) -> Incident:
        resolved = replace(incident, status="resolved", resolved_at=utc_now(), value=value)
        with self._store.write() as tx:
            tx.incidents.update(resolved.to_dict())
            entry = AuditEntry(
                "incident.resolve",
                f"incident:{incident.id}",
                {"status": "open"},
                _summary(resolved),
            )
            AuditLog.record(tx, ACTOR, entry)
        return self._notify(resolved, "incident.resolved")

    def _notify(self, incident: Incident, event: str) -> Incident:
        outcomes = self._notifier.send(event, {"incident": incident.to_dict()})
        if not outcomes:
            return incident
        notified = replace(incident, notifications=[*incident.notifications, *outcomes])
        with self._store.write() as tx:
            tx.incidents.update(notified.to_dict())
        return notified


def _example_condition(metric: str) -> str:
    if metric.startswith("error"):
        return "error"
    if metric.startswith("refusal"):
        return "refused"
    return "stale" if metric == "stale_share" else "any"


def _suggestion(deployment: str) -> str:
    name, _, label = deployment.partition("@")
    if label:
        return f"steerwise rollback {name} --label {label}"
    return f"steerwise release history {name}"


def _summary(incident: Incident) -> dict[str, Any]:
    return {
        "rule": incident.rule,
        "deployment": incident.deployment,
        "status": incident.status,
        "metric": incident.metric,
        "condition": incident.condition,
        "value": incident.value,
    }


def _incident(body: str) -> Incident:
    return Incident(**json.loads(body))


class AlertLoop:
    """Evaluates an engine's rules every `interval_s` on a daemon thread until `stop`; an
    evaluation that fails is logged and the next one runs as planned. Does nothing without
    rules or with an interval of 0."""

    def __init__(self, engine: AlertEngine, interval_s: float) -> None:
        self._engine = engine
        self._interval_s = interval_s
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.evaluations = 0

    def start(self) -> None:
        if self._interval_s <= 0 or not self._engine.rules or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="steerwise-alerts", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval_s):
            try:
                self._engine.evaluate()
            except Exception:  # the loop outlives one bad evaluation (a store hiccup)
                log.exception("steerwise-alerts: an evaluation failed")
            self.evaluations += 1
