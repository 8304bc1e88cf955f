"""A small /diagnostics helper shared by every node (node side: builds messages).

It imports no rclpy: the node passes itself in and owns the publisher and timer through it.
:class:`InputMonitor` is plain bookkeeping (rates, last-input ages) that tests can drive.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Mapping, Optional, Tuple

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from demining_bringup.contract import qos, topics
from demining_bringup.contract.codec import make_header

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


@dataclasses.dataclass
class _Input:
    count: int = 0
    last: Optional[float] = None
    window_start: Optional[float] = None
    window_count: int = 0
    rate: float = 0.0


class InputMonitor:
    """Counts inputs per name and reports rate and age at report time."""

    def __init__(self, stale_after_s: float = 2.0) -> None:
        """Inputs older than ``stale_after_s`` make the status WARN."""
        self.stale_after_s = stale_after_s
        self._inputs: Dict[str, _Input] = {}

    def tick(self, name: str, now: float) -> None:
        """Record one input called ``name`` at ``now`` (seconds)."""
        i = self._inputs.setdefault(name, _Input())
        i.count += 1
        i.last = now
        i.window_count += 1
        if i.window_start is None:
            i.window_start = now

    def expect(self, *names: str) -> None:
        """Declare inputs that should arrive (reported as missing until they do)."""
        for n in names:
            self._inputs.setdefault(n, _Input())

    def report(self, now: float) -> Tuple[int, str, List[Tuple[str, str]]]:
        """Return (level, message, key-values) and restart the rate windows."""
        level, missing, values = OK, [], []
        for name, i in self._inputs.items():
            if i.window_start is not None and now > i.window_start:
                i.rate = i.window_count / (now - i.window_start)
            i.window_start, i.window_count = now, 0
            age = None if i.last is None else now - i.last
            values.append((f'{name} rate_hz', f'{i.rate:.2f}'))
            values.append((f'{name} age_s', 'never' if age is None else f'{age:.2f}'))
            values.append((f'{name} count', str(i.count)))
            if age is None or age > self.stale_after_s:
                level = WARN
                missing.append(name)
        msg = 'ok' if not missing else 'no recent input: ' + ', '.join(missing)
        return level, msg, values


class DiagnosticsPublisher:
    """Publishes one DiagnosticStatus for the node on /diagnostics every ``period_s``."""

    def __init__(self, node, period_s: float,
                 status: Callable[[float], Tuple[int, str, List[Tuple[str, str]]]]) -> None:
        """``status(now)`` returns (level, message, [(key, value), ...])."""
        self._node = node
        self._status = status
        self._pub = node.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, qos.STATE)
        self._timer = node.create_timer(period_s, self.publish)

    def publish(self) -> None:
        """Build and publish the status now."""
        now = self._node.get_clock().now().nanoseconds * 1e-9
        level, message, values = self._status(now)
        self._pub.publish(diagnostics(self._node.get_fully_qualified_name(), now, level,
                                      message, dict(values)))
