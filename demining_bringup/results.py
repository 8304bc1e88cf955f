"""How a run ended, and how a run is asked to stop, the same for both backends (no rclpy)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from types import FrameType
from typing import Dict, Iterable, List, Optional

from demining_bringup.contract.states import MissionState

#: The signals ``demine run`` turns into a clean stop (abort, report, exit code 1).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclasses.dataclass
class RunResult:
    """How a run ended."""

    mission_state: str
    run_dir: str
    summary: Optional[dict]
    wall_time_s: float
    sim_time_s: float = 0.0
    timed_out: bool = False
    failed_nodes: List[str] = dataclasses.field(default_factory=list)
    #: Why the run was stopped from outside ('interrupted by SIGTERM'), '' when it was not.
    interrupted: str = ''

    @property
    def ok(self) -> bool:
        """True when the mission completed and wrote its report."""
        return self.mission_state == MissionState.COMPLETE.value and self.summary is not None


class StopRequest:
    """A flag the run loops poll: set by a signal handler, which does nothing else.

    ``install()`` makes SIGINT and SIGTERM set it (the first one only: the handlers go back to
    the defaults, so a second Ctrl-C ends the process at once, without a report); the runners
    check :attr:`reason` between steps, abort the mission through /mission/abort so its report
    is written, and stop. ``restore()`` puts the previous handlers back.
    """

    def __init__(self) -> None:
        self.reason = ''
        self._previous: Dict[int, object] = {}

    def __bool__(self) -> bool:
        return bool(self.reason)

    def set(self, reason: str) -> None:
        """Ask the run to stop (first reason wins)."""
        if not self.reason:
            self.reason = reason

    def _handler(self, signum: int, frame: Optional[FrameType]) -> None:
        self.set(f'interrupted by {signal.Signals(signum).name}')
        for sig in self._previous:
            signal.signal(sig, signal.SIG_DFL)

    def install(self, signals: Iterable[int] = STOP_SIGNALS) -> 'StopRequest':
        """Handle ``signals`` by setting the flag (main thread only); return self."""
        for sig in signals:
            self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def restore(self) -> None:
        """Put back the handlers :meth:`install` replaced."""
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous = {}


def read_summary(run_dir: Optional[str]) -> Optional[dict]:
    """Return the run folder's summary.json (None when there is none)."""
    if not run_dir:
        return None
    try:
        with open(os.path.join(run_dir, 'summary.json'), encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


__all__ = ['RunResult', 'STOP_SIGNALS', 'StopRequest', 'read_summary']
