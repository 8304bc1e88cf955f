"""Build the /diagnostics message every control node publishes at 1 Hz (node-side helper)."""

from __future__ import annotations

from typing import Mapping

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from demining_bringup.codec import make_header

#: Diagnostic levels by name (DiagnosticStatus constants are bytes).
OK = DiagnosticStatus.OK
WARN = DiagnosticStatus.WARN
ERROR = DiagnosticStatus.ERROR


def diagnostics(node_name: str, stamp: float, level: bytes, message: str,
                values: Mapping[str, object]) -> DiagnosticArray:
    """Return a DiagnosticArray with one status named after the node."""
    status = DiagnosticStatus(level=level, name=node_name, message=message,
                              hardware_id='demining')
    status.values = [KeyValue(key=str(k), value=str(v)) for k, v in values.items()]
    return DiagnosticArray(header=make_header(stamp, ''), status=[status])
