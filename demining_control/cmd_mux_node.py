"""Node ``cmd_mux``: the twist_mux-style arbiter between the motion sources and the supervisor.

Inputs /cmd_vel/auto (path follower), /cmd_vel/teleop (operator), /operator/deadman (the
hold-to-run enabling switch, std_msgs/Bool), /operator/pause (a lock, std_msgs/Bool, latched);
outputs /cmd_vel/mux (as twist_mux, each command of the winning input as it arrives, so the
mux adds no period of latency; zero every period while paused; nothing when no input is fresh)
and /cmd_vel/mux/source
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

    period_s: float = param(0.1, 'period of the lock and timeout check (zero while paused), s',
                            min=0.01, max=1.0, read_only=True)


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
        self._source(CmdSource.NONE)

    def timers(self) -> Dict[str, float]:
        """The lock and timeout check (the commands themselves pass on arrival)."""
        return {'tick': self.config.period_s}

    def on_auto(self, cmd: Twist2D, now: float) -> None:
        """The path follower's command: passed on at once when autonomy wins."""
        self.mux.on_command(CmdSource.AUTO, cmd, now)
        self._pass(CmdSource.AUTO, now)

    def on_teleop(self, cmd: Twist2D, now: float) -> None:
        """The operator's command: passed on at once when teleop wins."""
        self.mux.on_command(CmdSource.TELEOP, cmd, now)
        self._pass(CmdSource.TELEOP, now)

    def on_deadman(self, held: bool, now: float) -> None:
        """The enabling switch; releasing it stops teleop motion at once (hold-to-run)."""
        before = self.mux.source
        self.mux.on_deadman(held, now)
        source, cmd = self.mux.select(now)
        if before is CmdSource.TELEOP and source is not CmdSource.TELEOP:
            self.emit('cmd', cmd if cmd is not None else Twist2D())
        self._source(source)

    def on_pause(self, paused: bool, now: float) -> None:
        """The pause lock; it acts at once."""
        self.mux.on_pause(paused)
        self.tick(now)

    def tick(self, now: float) -> None:
        """While paused hold zero; publish a change of source (an input timing out)."""
        source, cmd = self.mux.select(now)
        if source is CmdSource.NONE and cmd is not None:
            self.emit('cmd', cmd)
        self._source(source)

    def _pass(self, arrived: CmdSource, now: float) -> None:
        """Pass the command that just arrived if its input wins (twist_mux: on arrival)."""
        source, cmd = self.mux.select(now)
        if cmd is not None and source in (arrived, CmdSource.NONE):
            self.emit('cmd', cmd)
        self._source(source)

    def _source(self, source: CmdSource) -> None:
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
