"""Input bookkeeping for a component's diagnostics: rate, age and count per input (no rclpy).

A component ticks the monitor in its input handlers and folds :meth:`InputMonitor.report`
into its :meth:`~demining_bringup.contract.component.Component.diagnostics`; the host
publishes the result. Plain bookkeeping, so tests drive it directly.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Optional, Tuple

from demining_bringup.contract.states import DiagLevel

#: Default age after which an input counts as missing, s: every sensor of the stack
#: publishes at 10 Hz or faster, so two seconds of silence is a fault, not jitter.
DEFAULT_STALE_AFTER_S = 2.0


@dataclasses.dataclass
class _Input:
    count: int = 0
    last: Optional[float] = None
    window_start: Optional[float] = None
    window_count: int = 0
    rate: float = 0.0


class InputMonitor:
    """Counts inputs per name and reports rate and age at report time."""

    def __init__(self, stale_after_s: float = DEFAULT_STALE_AFTER_S) -> None:
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

    def report(self, now: float) -> Tuple[DiagLevel, str, Dict[str, str]]:
        """Return (level, message, key-values) and restart the rate windows."""
        level, missing, values = DiagLevel.OK, [], {}
        for name, i in self._inputs.items():
            if i.window_start is not None and now > i.window_start:
                i.rate = i.window_count / (now - i.window_start)
            i.window_start, i.window_count = now, 0
            age = None if i.last is None else now - i.last
            values[f'{name} rate_hz'] = f'{i.rate:.2f}'
            values[f'{name} age_s'] = 'never' if age is None else f'{age:.2f}'
            values[f'{name} count'] = str(i.count)
            if age is None or age > self.stale_after_s:
                level = DiagLevel.WARN
                missing.append(name)
        message = 'ok' if not missing else 'no recent input: ' + ', '.join(missing)
        return level, message, values


__all__ = ['DEFAULT_STALE_AFTER_S', 'InputMonitor']
