"""Command mux (pure core): which motion source reaches the safety supervisor.

In the manner of ROS's ``twist_mux`` (topics with priorities and timeouts, locks that block the
topics below their priority):

* inputs: the path follower's ``auto`` command and the operator's ``teleop`` command, each with a
  priority and a timeout (an input older than its timeout is not a candidate);
* teleop is a candidate only while the operator holds the deadman (enable) switch and its
  message is fresh (``deadman_timeout_s``): hold-to-run, IEC 60204-1 9.2.3.8 / ISO 10218-1
  5.8.3 (an enabling device for manual motion). Teleop outranks autonomy by default, so an
  operator can take over at any time and drive the machine out of a stop;
* a lock (the operator's ``pause``) with its priority blocks every input below it: with the
  default priority it blocks both, so a paused machine gets zero from the mux;
* the highest-priority candidate wins. Paused, the mux holds the machine with a zero command;
  with no fresh input it passes nothing (as twist_mux), so a dead path follower shows downstream
  as a stale command ("motion command stale"), not as a silent zero.

The mux is no safety function: the supervisor downstream still judges every command (e-stop,
keep-out, people, machine limits), teleop included; the source it is told lets it allow teleop
to creep out of a machine-limit stop.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, Optional, Tuple

from demining_bringup.contract.datatypes import Twist2D
from demining_bringup.contract.parameters import ParamError, param
from demining_bringup.contract.states import CmdSource


@dataclasses.dataclass(frozen=True)
class MuxParams:
    """Priorities (higher wins) and timeouts of the mux's inputs and lock."""

    auto_priority: int = param(10, 'priority of the path follower (/cmd_vel/auto)', min=0,
                               max=255)
    auto_timeout_s: float = param(0.5, 'an automatic command older than this is dropped, s',
                                  min=0.01, max=60.0)
    # twist_mux's example configuration puts joystick teleop above navigation the same way.
    teleop_priority: int = param(100, 'priority of operator teleop (/cmd_vel/teleop)', min=0,
                                 max=255)
    teleop_timeout_s: float = param(0.5, 'a teleop command older than this is dropped, s',
                                    min=0.01, max=60.0)
    # A released (or silent) enabling switch must stop manual motion at once; the station
    # publishes the switch at 10 Hz, so 0.3 s is three lost messages.
    deadman_timeout_s: float = param(0.3, 'a deadman message older than this counts as '
                                     'released, s', min=0.01, max=60.0)
    pause_priority: int = param(255, 'priority of the operator pause lock (/operator/pause): '
                                'it blocks every input below it', min=0, max=255)

    def __post_init__(self) -> None:
        """Distinct input priorities (twist_mux leaves a tie undefined)."""
        if self.auto_priority == self.teleop_priority:
            raise ParamError('auto_priority and teleop_priority must differ')


@dataclasses.dataclass
class _Input:
    cmd: Optional[Twist2D] = None
    stamp: Optional[float] = None


def _fresh(stamp: Optional[float], now: float, timeout: float) -> bool:
    return stamp is not None and math.isfinite(stamp) and now - stamp <= timeout


class CommandMux:
    """Selects the command of the highest-priority fresh, unlocked input."""

    def __init__(self, params: Optional[MuxParams] = None) -> None:
        """No input seen yet: the output is zero, from ``none``."""
        self.params = params or MuxParams()
        self._inputs: Dict[CmdSource, _Input] = {CmdSource.AUTO: _Input(),
                                                 CmdSource.TELEOP: _Input()}
        self._deadman: Tuple[bool, Optional[float]] = (False, None)
        self.paused = False
        self.source = CmdSource.NONE

    def on_command(self, source: CmdSource, cmd: Twist2D, now: float) -> None:
        """A command from ``source`` (``auto`` or ``teleop``) arrived at ``now``."""
        self._inputs[source] = _Input(cmd, now)

    def on_deadman(self, held: bool, now: float) -> None:
        """The deadman switch's state arrived at ``now``."""
        self._deadman = (bool(held), now)

    def on_pause(self, paused: bool) -> None:
        """The pause lock (latched)."""
        self.paused = bool(paused)

    def deadman_held(self, now: float) -> bool:
        """Whether the deadman switch is held (a fresh ``true``)."""
        held, stamp = self._deadman
        return held and _fresh(stamp, now, self.params.deadman_timeout_s)

    def select(self, now: float) -> Tuple[CmdSource, Optional[Twist2D]]:
        """The winning source and its command; ``none`` with zero when paused and with None
        (nothing to pass on) when no input is fresh."""
        p = self.params
        lock = p.pause_priority if self.paused else -1
        candidates = []
        auto = self._inputs[CmdSource.AUTO]
        if p.auto_priority > lock and _fresh(auto.stamp, now, p.auto_timeout_s):
            candidates.append((p.auto_priority, CmdSource.AUTO, auto.cmd))
        tele = self._inputs[CmdSource.TELEOP]
        if (p.teleop_priority > lock and _fresh(tele.stamp, now, p.teleop_timeout_s)
                and self.deadman_held(now)):
            candidates.append((p.teleop_priority, CmdSource.TELEOP, tele.cmd))
        if not candidates:
            self.source = CmdSource.NONE
            return self.source, (Twist2D() if self.paused else None)
        _, self.source, cmd = max(candidates, key=lambda c: c[0])
        assert cmd is not None
        return self.source, Twist2D(cmd.v, cmd.omega)


__all__ = ['CommandMux', 'MuxParams']
