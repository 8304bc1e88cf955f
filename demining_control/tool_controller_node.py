"""Node ``tool_controller``: drives flail and tiller while the mission is clearing.

Inputs /tool/joint_states and /mission/state; output /tool/command/auto every control period.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional

from demining_bringup.contract import topics
from demining_bringup.contract.component import Component, Port, Status
from demining_bringup.contract.datatypes import ToolCommand, ToolState
from demining_bringup.contract.parameters import param
from demining_bringup.contract.states import DiagLevel, MissionState, ToolPhase
from demining_control.tools.controller import ToolController, ToolParams


@dataclasses.dataclass(frozen=True)
class ToolControllerConfig(ToolParams):
    """Node parameters: the controller's plus its loop timing."""

    control_period_s: float = param(0.1, 'period of the control loop (/tool/command/auto), s',
                                    min=0.01, max=1.0, read_only=True)
    tool_state_timeout_s: float = param(0.5, 'a tool state older than this is not trusted '
                                        '(the controller then lifts), s', min=0.05, max=10.0)


class ToolControllerComponent(Component):
    """The tool controller, fed the fresh tool state and whether the mission is clearing."""

    name = 'tool_controller'
    params = ToolControllerConfig
    inputs = {'tool_state': Port(topics.TOOL_JOINT_STATES),
              'mission': Port(topics.MISSION_STATE)}
    outputs = {'command': Port(topics.TOOL_COMMAND_AUTO, actuator=True)}

    def on_configure(self, params: ToolControllerConfig) -> None:
        """Build the controller."""
        self.config = params
        self.controller = ToolController(params)
        self.mission = MissionState.IDLE
        self.tool_state: Optional[ToolState] = None
        self.tool_time: Optional[float] = None

    def timers(self) -> Dict[str, float]:
        """The control loop."""
        return {'control': self.config.control_period_s}

    def on_tool_state(self, ts: ToolState, now: float) -> None:
        """Keep the latest measured tool state and when it arrived."""
        self.tool_state, self.tool_time = ts, now

    def on_mission(self, state: MissionState, now: float) -> None:
        """Keep the mission state (the tool works only while clearing)."""
        self.mission = state

    def control(self, now: float) -> None:
        """One control step."""
        ts = self.tool_state
        if self.tool_time is None or now - self.tool_time > self.config.tool_state_timeout_s:
            ts = None
        cmd = self.controller.update(None, ts, self.mission is MissionState.CLEARING,
                                     self.config.control_period_s)
        self.emit('command', ToolCommand(float(cmd.flail_speed), float(cmd.tiller_speed),
                                         float(cmd.depth)))

    def diagnostics(self, now: float) -> Status:
        """Phase, readiness, speed limit, stalls."""
        c = self.controller
        level = DiagLevel.WARN if c.phase is ToolPhase.STALL_RECOVERY else DiagLevel.OK
        return level, c.phase.value, {
            'phase': c.phase.value, 'ready': c.ready,
            'speed_limit_mps': f'{c.speed_limit_mps:.2f}', 'stalls': c.stall_count,
            'mission_state': self.mission.value}


def main(args: Optional[List[str]] = None) -> int:
    """Run the node (console script ``tool_controller_node``)."""
    from demining_bringup.hosts.ros import run_component
    return run_component(ToolControllerComponent, args)


if __name__ == '__main__':
    raise SystemExit(main())
