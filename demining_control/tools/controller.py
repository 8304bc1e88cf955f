"""Flail and tiller controller (pure core): spin up, lower, hold, recover from stalls, lift.

Sequence while the mission is clearing: the rotors ramp to their target speeds with the tool up
(a flail lowered onto the ground before it is at speed digs in and stalls), the tool is lowered
to ``working_depth_m`` only when the measured flail speed is within ``ready_speed_fraction`` of
the target, then the depth is held. A stall (measured speed below ``stall_speed_fraction`` of the
target while the torque is above ``stall_torque_nm``, for ``stall_time_s``) lifts the tool by
``stall_lift_m`` until the rotor is back at speed for ``recover_time_s``; meanwhile the controller
asks the vehicle to slow to ``stall_speed_limit_mps``. When not clearing the tool is lifted first
and the rotors then run down to idle.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

from demining_bringup.contract.datatypes import ToolCommand, ToolState
from demining_bringup.contract.parameters import ParamError, param
from demining_bringup.contract import vehicle_params
from demining_bringup.contract.states import ToolPhase


@dataclasses.dataclass(frozen=True)
class ToolParams:
    """Parameters of the tool controller."""

    flail_speed_radps: float = vehicle_params.flail_speed_radps()
    tiller_speed_radps: float = param(0.0, 'tiller rotor target speed, rad/s (0: no tiller)',
                                      min=0.0, max=200.0)
    idle_speed_radps: float = param(0.0, 'rotor speed when not clearing, rad/s', min=0.0,
                                    max=200.0)
    working_depth_m: float = vehicle_params.working_depth_m()
    spin_ramp_radps2: float = param(10.0, 'rotor speed ramp, rad/s^2', min=0.1, max=1000.0)
    depth_rate_mps: float = param(0.05, 'rate of lowering and lifting the tool, m/s', min=0.001,
                                  max=1.0)
    ready_speed_fraction: float = vehicle_params.ready_speed_fraction()
    depth_tolerance_m: float = vehicle_params.depth_tolerance_m()
    stall_speed_fraction: float = param(0.6, 'stall when the flail is below this fraction of '
                                        'the target under high torque', min=0.05, max=0.95)
    stall_torque_nm: float = param(8000.0, 'torque above which a slow rotor counts as stalled, '
                                   'N m', min=0.0, max=1e6)
    stall_time_s: float = param(0.5, 'a stall must last this long to be acted on, s', min=0.0,
                                max=10.0)
    stall_lift_m: float = param(0.05, 'lift on a stall, m', min=0.0, max=1.0)
    recover_time_s: float = param(2.0, 'the rotor must be back at speed this long before '
                                  'lowering again, s', min=0.0, max=60.0)
    stall_speed_limit_mps: float = param(0.1, 'vehicle speed limit while recovering from a '
                                         'stall, m/s', min=0.0, max=5.0)
    max_speed_limit_mps: float = param(5.0, 'speed limit reported when nothing limits, m/s',
                                       min=0.0, max=50.0)

    def __post_init__(self) -> None:
        """Cross-field checks."""
        if self.stall_speed_fraction >= self.ready_speed_fraction:
            raise ParamError('stall_speed_fraction must be below ready_speed_fraction')


def _ramp(current: float, target: float, rate: float, dt: float) -> float:
    step = rate * dt
    if target > current:
        return min(target, current + step)
    return max(target, current - step)


class ToolController:
    """Tool state machine (see the module docstring)."""

    def __init__(self, params: Optional[ToolParams] = None) -> None:
        """Create an idle controller with the tool up."""
        self.configure(params or ToolParams())
        self.phase = ToolPhase.IDLE
        self._cmd = ToolCommand()
        self._stall_t = 0.0
        self._recover_t = 0.0
        self.ready = False
        self.speed_limit_mps = self.params.max_speed_limit_mps
        self.stall_count = 0

    def configure(self, params: ToolParams) -> None:
        """Set the parameters."""
        self.params = params

    def tool_ready(self, ts: ToolState) -> bool:
        """Return whether the measured tool is at speed and at depth."""
        p = self.params
        return (ts.flail_speed >= p.ready_speed_fraction * p.flail_speed_radps
                and ts.tiller_speed >= p.ready_speed_fraction * p.tiller_speed_radps
                and ts.depth >= p.working_depth_m - p.depth_tolerance_m)

    def _at_speed(self, ts: ToolState) -> bool:
        p = self.params
        return (ts.flail_speed >= p.ready_speed_fraction * p.flail_speed_radps
                and ts.tiller_speed >= p.ready_speed_fraction * p.tiller_speed_radps)

    def _stalled(self, ts: ToolState) -> bool:
        p = self.params
        slow = ts.flail_speed < p.stall_speed_fraction * p.flail_speed_radps
        loaded = max(abs(ts.flail_torque), abs(ts.tiller_torque)) >= p.stall_torque_nm
        return p.flail_speed_radps > 0.0 and slow and loaded

    def update(self, state: object, tool_state: Optional[ToolState], mission_active: bool,
               dt: float) -> ToolCommand:
        """Return the tool command for one control period.

        :param state: the vehicle state (unused today; kept for the controller interface).
        :param tool_state: the latest measured tool state, ``None`` when none is known (the
            tool is then lifted and the rotors idle: nothing is done blind).
        :param mission_active: the mission is clearing.
        """
        del state
        p = self.params
        if not (math.isfinite(dt) and dt > 0.0):
            dt = 0.0
        if tool_state is None or not all(math.isfinite(v) for v in (
                tool_state.flail_speed, tool_state.tiller_speed, tool_state.depth,
                tool_state.flail_torque, tool_state.tiller_torque)):
            mission_active = False
            ts = ToolState(stamp=0.0, depth=self._cmd.depth)
        else:
            ts = tool_state
        cmd = self._cmd
        if not mission_active:
            self._stall_t = self._recover_t = 0.0
            self.speed_limit_mps = p.max_speed_limit_mps
            # lift first, then let the rotors run down (a stopped rotor must not be dragged)
            depth = _ramp(cmd.depth, 0.0, p.depth_rate_mps, dt)
            if depth > 0.0:
                self.phase = ToolPhase.LIFTING
                flail, tiller = cmd.flail_speed, cmd.tiller_speed
            else:
                self.phase = ToolPhase.IDLE
                flail = _ramp(cmd.flail_speed, p.idle_speed_radps, p.spin_ramp_radps2, dt)
                tiller = _ramp(cmd.tiller_speed, min(p.idle_speed_radps, p.tiller_speed_radps),
                               p.spin_ramp_radps2, dt)
            self._cmd = ToolCommand(flail, tiller, depth)
            self.ready = False
            return dataclasses.replace(self._cmd)

        flail = _ramp(cmd.flail_speed, p.flail_speed_radps, p.spin_ramp_radps2, dt)
        tiller = _ramp(cmd.tiller_speed, p.tiller_speed_radps, p.spin_ramp_radps2, dt)
        depth_target = cmd.depth
        if self.phase in (ToolPhase.IDLE, ToolPhase.LIFTING, ToolPhase.SPIN_UP):
            self.phase = ToolPhase.SPIN_UP
            depth_target = 0.0
            if self._at_speed(ts) and flail >= p.flail_speed_radps:
                self.phase = ToolPhase.LOWERING
        if self.phase in (ToolPhase.LOWERING, ToolPhase.WORKING):
            depth_target = p.working_depth_m
            if self._stalled(ts):
                self._stall_t += dt
            else:
                self._stall_t = 0.0
            if self._stall_t >= p.stall_time_s and self._stall_t > 0.0:
                self.phase = ToolPhase.STALL_RECOVERY
                self.stall_count += 1
                self._recover_t = 0.0
            elif self.phase is ToolPhase.LOWERING and self.tool_ready(ts):
                self.phase = ToolPhase.WORKING
        if self.phase is ToolPhase.STALL_RECOVERY:
            depth_target = max(0.0, p.working_depth_m - p.stall_lift_m)
            self._recover_t = self._recover_t + dt if self._at_speed(ts) else 0.0
            if self._recover_t >= p.recover_time_s:
                self.phase = ToolPhase.LOWERING
                self._stall_t = 0.0
        depth = _ramp(cmd.depth, depth_target, p.depth_rate_mps, dt)
        self.speed_limit_mps = (p.stall_speed_limit_mps
                                if self.phase is ToolPhase.STALL_RECOVERY
                                else p.max_speed_limit_mps)
        self.ready = self.phase is ToolPhase.WORKING and self.tool_ready(ts)
        self._cmd = ToolCommand(flail, tiller, depth)
        return dataclasses.replace(self._cmd)
