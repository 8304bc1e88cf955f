"""Node ``cmd_mux``: the twist_mux-style arbiter between the motion sources and the supervisor.

Inputs /cmd_vel/auto (path follower), /cmd_vel/teleop (operator), /operator/deadman (the
hold-to-run enabling switch, std_msgs/Bool), /operator/pause (a lock, std_msgs/Bool, latched);
outputs /cmd_vel/mux (every period: the winning command, zero while paused, nothing when no
input is fresh) and /cmd_vel/mux/source
(``auto``, ``teleop`` or ``none``, latched, on change) into the safety supervisor, which still
judges every command. :mod:`demining_control.mux.arbiter` holds the logic. Inputs are
time-stamped on reception with the node's (sim) clock.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional

from demining_bringup.contract import topics
from demining_bringup.contract.component import Component, Port, Status
from demining_bringup.contract.datatypes import Twist2D
from demining_bringup.contract.parameters import param
from demining_bringup.contract.states import CmdSource, DiagLevel
from demining_control.mux.arbiter import CommandMux, MuxParams


@dataclasses.dataclass(frozen=True)
class CmdMuxConfig(MuxParams):
    """Node parameters: the mux's plus its period."""

    period_s: float = param(0.1, 'period of /cmd_vel/mux, s', min=0.01, max=1.0,
                            read_only=True)


class CmdMuxComponent(Component):
    """Passes on the command of the highest-priority fresh, unlocked input."""

    name = 'cmd_mux'
    params = CmdMuxConfig
    inputs = {'auto': Port(topics.CMD_VEL_AUTO), 'teleop': Port(topics.CMD_VEL_TELEOP),
              'deadman': Port(topics.OPERATOR_DEADMAN), 'pause': Port(topics.OPERATOR_PAUSE)}
    outputs = {'cmd': Port(topics.CMD_VEL_MUX, actuator=True),
               'source': Port(topics.CMD_VEL_SOURCE)}

    def on_configure(self, params: CmdMuxConfig) -> None:
        """Build the arbiter."""
        self.config = params
        self.mux = CommandMux(params)
        self._published: Optional[CmdSource] = None

    def on_activate(self, now: float) -> None:
        """Start from ``none`` (latched)."""
        self._published = None
        self.select(now)

    def timers(self) -> Dict[str, float]:
        """The selection."""
        return {'select': self.config.period_s}

    def on_auto(self, cmd: Twist2D, now: float) -> None:
        """The path follower's command."""
        self.mux.on_command(CmdSource.AUTO, cmd, now)

    def on_teleop(self, cmd: Twist2D, now: float) -> None:
        """The operator's command; passed on at once when teleop wins (no period of lag)."""
        self.mux.on_command(CmdSource.TELEOP, cmd, now)
        if self.mux.deadman_held(now):
            self.select(now)

    def on_deadman(self, held: bool, now: float) -> None:
        """The enabling switch; a release takes effect at once."""
        was = self.mux.deadman_held(now)
        self.mux.on_deadman(held, now)
        if was and not held:
            self.select(now)

    def on_pause(self, paused: bool, now: float) -> None:
        """The pause lock; it acts at once."""
        self.mux.on_pause(paused)
        self.select(now)

    def select(self, now: float) -> None:
        """Publish the winning command; a change of source goes on the log and its topic."""
        source, cmd = self.mux.select(now)
        if cmd is not None:
            self.emit('cmd', cmd)
        if source is not self._published:
            self._published = source
            self.emit('source', source)
            self.log.info(f'command source: {source.value}')

    def diagnostics(self, now: float) -> Status:
        """Source, deadman, pause."""
        m = self.mux
        return DiagLevel.OK, f'source {m.source.value}', {
            'source': m.source.value, 'deadman_held': m.deadman_held(now), 'paused': m.paused}


def main(args: Optional[List[str]] = None) -> int:
    """Run the node (console script ``cmd_mux_node``)."""
    from demining_bringup.hosts.ros import run_component
    return run_component(CmdMuxComponent, args)


if __name__ == '__main__':
    raise SystemExit(main())
