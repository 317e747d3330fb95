"""Traces: every request as a tree of timed steps, stored redacted, listed, shown, exported."""

from steerwise.traces.log import TraceLog
from steerwise.traces.sinks import TraceSink
from steerwise.traces.timeline import Timeline

__all__ = ["Timeline", "TraceLog", "TraceSink"]
