"""Flail and tiller controller (pure core): modes, closed loops, stalls, speed governing.

Phases (:class:`ToolPhase`) while the mission is clearing:

* ``spin_up``: the rotors ramp to their target speeds with the tool up (a flail lowered onto
  the ground before it is at speed digs in and stalls);
* ``lowering`` / ``working``: on a work leg (``/follower/leg`` ``work``) the tool goes down to
  ``working_depth_m + depth_margin_m`` below the *local* ground, held by the depth loop from
  the ride-height sensor (:class:`demining_control.tools.loops.DepthLoop`); ``working`` once
  it is at speed and at depth;
* ``raised``: on a transit leg, while reversing or pivoting the tool is lifted clear and the
  rotors keep turning (reversing drags a lowered flail backwards into the soil; transits cross
  ground that is not to be processed; a flail turned in place sweeps an arc the sensor boom
  has not scanned, where an undetected AT mine goes off under it);
* ``stall_recovery``: a rotor below ``stall_speed_fraction`` of its command while its torque
  is at ``stall_torque_fraction`` of the relief torque, for ``stall_time_s`` (or any rotor at
  rest while commanded), is a stall: the tool is lifted clear (``StallStep.LIFT``), a
  reversible rotor is run backwards for ``reverse_time_s`` to throw out what jammed it
  (``REVERSE``), the rotors spin up again (``SPIN_UP``) and the tool goes down (retry). The
  vehicle meanwhile is held to ``stall_speed_limit_mps`` and every stall lowers the governed
  speed (:class:`demining_control.tools.governor.SpeedGovernor`). Escalation, N stalls in T ->
  protective stop with a reason, is the safety supervisor's (``max_tool_stalls`` within
  ``tool_stall_window_s``, its own independent detection): not repeated here;
* ``feedback_lost``: no fresh or finite tool state: the tool is lifted by dead reckoning of the
  last command and the rotors run down to idle; nothing is done blind; the speed limit is the
  stall limit.

When not clearing the tool is lifted first and the rotors then run down to idle (``lifting``,
``idle``). The rotor loops are :class:`demining_control.tools.loops.RotorLoop` (PI + load
feedforward, anti-windup, ramp limits).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import List, Optional

from demining_bringup.contract import vehicle_params
from demining_bringup.contract.datatypes import ToolCommand, ToolEvent, ToolState
from demining_bringup.contract.parameters import ParamError, param
from demining_bringup.contract.states import LegKind, ToolEventKind, ToolPhase
from demining_control.tools.governor import GovernorInputs, SpeedGovernor
from demining_control.tools.loops import DepthLoop, RotorLoop, ramp


class StallStep(str, enum.Enum):
    """Where a stall recovery is."""

    LIFT = 'lift'
    REVERSE = 'reverse'
    SPIN_UP = 'spin_up'


@dataclasses.dataclass(frozen=True)
class ToolParams:
    """Parameters of the tool controller."""

    flail_speed_radps: float = vehicle_params.flail_speed_radps()
    tiller_speed_radps: float = vehicle_params.tiller_speed_radps()
    idle_speed_radps: float = param(0.0, 'rotor speed when not clearing, rad/s', min=0.0,
                                    max=200.0)
    working_depth_m: float = vehicle_params.working_depth_m()
    working_speed_mps: float = vehicle_params.working_speed_mps()
    tool_width_m: float = vehicle_params.tool_width_m()
    # The depth is held a little below the required depth so the sensor noise and the loop's
    # error leave the processed ground at or below it (our choice: about 2 sigma of the loop).
    depth_margin_m: float = param(0.012, 'the tool is held this much deeper than the required '
                                  'depth, m', min=0.0, max=0.1)
    spin_ramp_radps2: float = param(10.0, 'rotor speed ramp, rad/s^2', min=0.1, max=1000.0)
    depth_rate_mps: float = param(0.05, 'rate of lowering and lifting the tool, m/s', min=0.001,
                                  max=1.0)
    max_tool_depth_m: float = param(0.5, 'deepest arm command, m', min=0.05, max=1.0)
    tool_lift_rate_mps: float = vehicle_params.tool_lift_rate_mps()
    ready_speed_fraction: float = vehicle_params.ready_speed_fraction()
    depth_tolerance_m: float = vehicle_params.depth_tolerance_m()
    # Rotor loops (tuned against demining_sim/tools.py's drive: J 120/200 kg m^2).
    rotor_kp: float = param(0.5, 'rotor PI proportional gain, (rad/s)/(rad/s)', min=0.0,
                            max=20.0)
    rotor_ki: float = param(2.0, 'rotor PI integral gain, 1/s', min=0.0, max=100.0)
    max_rotor_command_radps: float = param(120.0, 'largest rotor speed command, rad/s',
                                           min=1.0, max=300.0)
    flail_speed_gain_nms: float = vehicle_params.flail_speed_gain_nms()
    tiller_speed_gain_nms: float = vehicle_params.tiller_speed_gain_nms()
    # Depth loop.
    depth_ki: float = param(1.0, 'depth loop integral gain, 1/s', min=0.0, max=50.0)
    depth_filter_s: float = param(0.2, 'time constant of the ground-offset estimate (against '
                                  'the ride-height sensor\'s noise), s', min=0.0, max=10.0)
    max_depth_correction_m: float = param(0.15, 'largest ground-following correction of the '
                                          'arm, m', min=0.0, max=0.5)
    # Stalls.
    stall_speed_fraction: float = param(0.6, 'stall when a rotor is below this fraction of '
                                        'its command under high torque', min=0.05, max=0.95)
    stall_torque_fraction: float = param(0.9, 'torque (share of the relief torque) at which a '
                                         'slow rotor counts as stalled', min=0.1, max=2.0)
    stall_time_s: float = param(0.5, 'a stall must last this long to be acted on, s', min=0.0,
                                max=10.0)
    recover_time_s: float = param(1.0, 'the rotor must be back at speed this long before '
                                  'lowering again, s', min=0.0, max=60.0)
    reverse_time_s: float = param(1.5, 'a reversible rotor runs backwards this long to clear '
                                  'a jam, s', min=0.0, max=30.0)
    reverse_speed_radps: float = param(5.0, 'reverse speed of a reversible rotor, rad/s',
                                       min=0.0, max=100.0)
    tiller_reversible: bool = vehicle_params.tiller_reversible()
    flail_reversible: bool = vehicle_params.flail_reversible()
    stall_speed_limit_mps: float = param(0.1, 'vehicle speed limit while recovering from a '
                                         'stall, m/s', min=0.0, max=5.0)
    # Speed governor (demining_control/tools/governor.py).
    flail_hammers: int = vehicle_params.flail_hammers()
    tiller_teeth: int = vehicle_params.tiller_teeth()
    flail_reference_depth_m: float = vehicle_params.flail_reference_depth_m()
    flail_reference_speed_mps: float = vehicle_params.flail_reference_speed_mps()
    flail_reference_rpm: float = vehicle_params.flail_reference_rpm()
    flail_reference_width_m: float = vehicle_params.flail_reference_width_m()
    flail_reference_hammers: int = vehicle_params.flail_reference_hammers()
    flail_depth_exponent: float = vehicle_params.flail_depth_exponent()
    flail_soil_torque_nm_per_m: float = vehicle_params.flail_soil_torque_nm_per_m()
    tiller_soil_torque_nm_per_m: float = vehicle_params.tiller_soil_torque_nm_per_m()
    soil_speed_factor_per_mps: float = vehicle_params.soil_speed_factor_per_mps()
    flail_viscous_nms: float = vehicle_params.flail_viscous_nms()
    tiller_viscous_nms: float = vehicle_params.tiller_viscous_nms()
    flail_max_torque_nm: float = vehicle_params.flail_max_torque_nm()
    tiller_max_torque_nm: float = vehicle_params.tiller_max_torque_nm()
    # About 30 strikes on a PMN-sized mine's catch area (0.029 m^2): our estimate of the least
    # a flail pass must give whatever the depth (the depth law usually asks more).
    min_strike_density_per_m2: float = param(1000.0, 'least flail strikes per m^2 a pass must '
                                             'give', min=0.0, max=1e6)
    min_cut_density_per_m2: float = param(300.0, 'least tiller tooth cuts per m^2 a pass must '
                                          'give (our estimate: about 10 on a PMN)', min=0.0,
                                          max=1e6)
    max_torque_fraction: float = param(0.75, 'the governed speed keeps the soil load at this '
                                       'share of the relief torque (reserve for stones, '
                                       'roots)', min=0.1, max=1.0)
    soil_hardness_prior: float = param(1.3, 'soil hardness assumed before the load is measured '
                                       '(1 loam; docs/sources.md: up to 1.8 laterite)',
                                       min=0.1, max=10.0)
    hardness_margin: float = param(0.1, 'the estimated hardness is raised by this share (noise '
                                   'of the load measurement)', min=0.0, max=2.0)
    hardness_time_constant_s: float = param(2.0, 'low-pass time constant of the hardness '
                                            'estimate, s', min=0.01, max=600.0)
    min_estimate_depth_m: float = param(0.05, 'the hardness is estimated only with the tool '
                                        'this deep, m', min=0.0, max=1.0)
    stall_speed_factor: float = param(0.7, 'each stall multiplies the governed speed by this',
                                      min=0.1, max=1.0)
    min_stall_derate: float = param(0.3, 'stalls lower the governed speed at most to this '
                                    'share', min=0.05, max=1.0)
    stall_derate_recovery_s: float = param(120.0, 'stall-free work to recover the full '
                                           'governed speed, s', min=1.0, max=3600.0)
    min_speed_limit_mps: float = param(0.03, 'the governed limit never goes below this '
                                       '(the follower still creeps), m/s', min=0.0, max=1.0)

    def __post_init__(self) -> None:
        """Cross-field checks."""
        if self.stall_speed_fraction >= self.ready_speed_fraction:
            raise ParamError('stall_speed_fraction must be below ready_speed_fraction')
        if self.flail_speed_radps <= 0.0 and self.tiller_speed_radps <= 0.0:
            raise ParamError('a tool needs a flail or a tiller (flail_speed_radps or '
                             'tiller_speed_radps above 0)')


class ToolController:
    """Tool state machine with closed loops (see the module docstring)."""

    def __init__(self, params: Optional[ToolParams] = None) -> None:
        """Create an idle controller with the tool up."""
        self.configure(params or ToolParams())

    def configure(self, params: ToolParams) -> None:
        """Set the parameters and start afresh (tool up, rotors stopped)."""
        p = self.params = params
        self.flail = RotorLoop(p.rotor_kp, p.rotor_ki, p.flail_speed_gain_nms,
                               p.max_rotor_command_radps, p.spin_ramp_radps2,
                               p.flail_reversible)
        self.tiller = RotorLoop(p.rotor_kp, p.rotor_ki, p.tiller_speed_gain_nms,
                                p.max_rotor_command_radps, p.spin_ramp_radps2,
                                p.tiller_reversible)
        self.depth_loop = DepthLoop(p.depth_ki, p.depth_filter_s, p.max_depth_correction_m,
                                    p.max_tool_depth_m, p.tool_lift_rate_mps)
        self.governor = SpeedGovernor(p)
        self.phase = ToolPhase.IDLE
        self.stall_step: Optional[StallStep] = None
        self._depth_cmd = 0.0
        self._stall_t = 0.0
        self._step_t = 0.0
        self.ready = False
        self.speed_limit_mps = p.stall_speed_limit_mps
        self.stall_count = 0
        self.recoveries = 0
        self.recovery_times: List[float] = []
        self._stall_began: Optional[float] = None
        self.depth_error_m = math.nan
        self.events: List[ToolEvent] = []
        self._feedback_ok = True
        self._t = 0.0

    # -- measurements ----------------------------------------------------------------------

    @property
    def target_depth_m(self) -> float:
        """The depth the loop holds below the local ground."""
        return self.params.working_depth_m + self.params.depth_margin_m

    def _at_speed(self, ts: ToolState) -> bool:
        p = self.params
        return (ts.flail_speed >= p.ready_speed_fraction * p.flail_speed_radps
                and ts.tiller_speed >= p.ready_speed_fraction * p.tiller_speed_radps)

    def tool_ready(self, ts: ToolState) -> bool:
        """Return whether the measured tool is at speed and at depth."""
        return self._at_speed(ts) and \
            ts.depth >= self.params.working_depth_m - self.params.depth_tolerance_m

    def _stalled(self, ts: ToolState) -> bool:
        """A commanded rotor that is slow under (near) relief torque."""
        p = self.params
        out = False
        for cmd, speed, torque, tmax in (
                (p.flail_speed_radps, ts.flail_speed, ts.flail_torque, p.flail_max_torque_nm),
                (p.tiller_speed_radps, ts.tiller_speed, ts.tiller_torque,
                 p.tiller_max_torque_nm)):
            if cmd <= 0.0:
                continue
            slow = speed < p.stall_speed_fraction * cmd
            loaded = abs(torque) >= p.stall_torque_fraction * tmax
            out = out or (slow and loaded)
        return out

    # -- the step ----------------------------------------------------------------------------

    def update(self, tool_state: Optional[ToolState], mission_active: bool, dt: float,
               leg: LegKind = LegKind.WORK, ground_speed: float = 0.0,
               now: Optional[float] = None) -> ToolCommand:
        """Return the tool command for one control period.

        :param tool_state: the latest fresh measured tool state, ``None`` when none is known
            (lost feedback: the tool is lifted and the rotors idle; nothing is done blind).
        :param mission_active: the mission is clearing.
        :param leg: how the follower drives now (the tool is down on work legs only).
        :param ground_speed: measured forward speed, m/s (the load law and the governor).
        :param now: time, s, for the events (the controller's own clock otherwise).
        """
        p = self.params
        if not (math.isfinite(dt) and dt > 0.0):
            dt = 0.0
        self._t = now if now is not None else self._t + dt
        if not math.isfinite(ground_speed):
            ground_speed = 0.0
        ok = tool_state is not None and all(math.isfinite(v) for v in (
            tool_state.flail_speed, tool_state.tiller_speed, tool_state.depth,
            tool_state.flail_torque, tool_state.tiller_torque))
        if ok != self._feedback_ok:
            self._feedback_ok = ok
            kind = ToolEventKind.FEEDBACK_BACK if ok else ToolEventKind.FEEDBACK_LOST
            self.events.append(ToolEvent(self._t, kind.value,
                                         'tool state fresh again' if ok else
                                         'no fresh tool state: tool lifted, rotors to idle'))
        if not mission_active or not ok:
            return self._stand_down(dt, lost=mission_active and not ok)
        ts = tool_state
        assert ts is not None
        want_down = leg is LegKind.WORK
        flail_t, tiller_t = p.flail_speed_radps, p.tiller_speed_radps
        closed = True
        depth_target: Optional[float] = 0.0

        if self.phase in (ToolPhase.IDLE, ToolPhase.LIFTING, ToolPhase.FEEDBACK_LOST):
            self.phase = ToolPhase.SPIN_UP
        stalled = self._stalled(ts) and self.phase in (ToolPhase.LOWERING, ToolPhase.WORKING)
        self._stall_t = self._stall_t + dt if stalled else 0.0
        if stalled and self._stall_t >= p.stall_time_s:
            self._begin_stall(ts)
        if self.phase is ToolPhase.STALL_RECOVERY:
            flail_t, tiller_t, closed = self._recover(ts, dt)
        elif self.phase is ToolPhase.SPIN_UP:
            if self._at_speed(ts):
                self.phase = ToolPhase.LOWERING if want_down else ToolPhase.RAISED
        elif self.phase is ToolPhase.RAISED:
            if want_down:
                self.phase = ToolPhase.LOWERING
        elif self.phase in (ToolPhase.LOWERING, ToolPhase.WORKING):
            if not want_down:
                self.phase = ToolPhase.RAISED
                self.depth_loop.reset()
        if self.phase in (ToolPhase.LOWERING, ToolPhase.WORKING):
            depth_target = None          # the depth loop decides
            if self.phase is ToolPhase.LOWERING and self.tool_ready(ts):
                self.phase = ToolPhase.WORKING
        # rotors
        f_cmd = self.flail.update(flail_t, ts.flail_speed, ts.flail_torque, dt,
                                  closed and flail_t > 0.0)
        t_cmd = self.tiller.update(tiller_t, ts.tiller_speed, ts.tiller_torque, dt,
                                   closed and tiller_t > 0.0)
        # depth
        if depth_target is None:
            self.depth_error_m = ts.depth - p.working_depth_m
            # the ground-following loop takes over once the tool is in the ground
            arm = self.depth_loop.update(
                self.target_depth_m, ts.depth, dt, ts.stamp, ts.arm) \
                if self.phase is ToolPhase.WORKING or ts.depth > 0.5 * p.working_depth_m \
                else self.target_depth_m
            if self.phase is ToolPhase.LOWERING:
                arm = ramp(self._depth_cmd, arm, p.depth_rate_mps, dt)
            self._depth_cmd = arm
        else:
            self.depth_error_m = math.nan
            self._depth_cmd = ramp(self._depth_cmd, depth_target, p.depth_rate_mps, dt)
        self.depth_loop.track(self._depth_cmd, dt, self._t)
        # speed limit
        in_soil = self.phase is ToolPhase.WORKING
        limit = self.governor.update(GovernorInputs(
            ts.flail_speed, ts.tiller_speed, ts.flail_torque, ts.tiller_torque, ts.depth,
            ground_speed, in_soil), dt)
        if self.phase is ToolPhase.STALL_RECOVERY:
            limit = min(limit, p.stall_speed_limit_mps)
        self.speed_limit_mps = limit
        self.ready = self.phase is ToolPhase.WORKING and self.tool_ready(ts)
        return ToolCommand(float(f_cmd), float(t_cmd), float(self._depth_cmd))

    def _stand_down(self, dt: float, lost: bool) -> ToolCommand:
        """Lift first, then let the rotors run down (a stopped rotor must not be dragged)."""
        p = self.params
        self._stall_t = 0.0
        self.stall_step = None
        self.depth_loop.reset()
        self.depth_error_m = math.nan
        self.governor.update(GovernorInputs(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, False), dt)
        self.speed_limit_mps = p.stall_speed_limit_mps
        self._depth_cmd = ramp(self._depth_cmd, 0.0, p.depth_rate_mps, dt)
        if self._depth_cmd > 0.0:
            self.phase = ToolPhase.FEEDBACK_LOST if lost else ToolPhase.LIFTING
            f, t = self.flail.ref, self.tiller.ref
        else:
            self.phase = ToolPhase.FEEDBACK_LOST if lost else ToolPhase.IDLE
            f = p.idle_speed_radps if p.flail_speed_radps > 0.0 else 0.0
            t = min(p.idle_speed_radps, p.tiller_speed_radps)
        f_cmd = self.flail.update(f, math.nan, math.nan, dt, closed=False)
        t_cmd = self.tiller.update(t, math.nan, math.nan, dt, closed=False)
        self.ready = False
        return ToolCommand(float(f_cmd), float(t_cmd), float(self._depth_cmd))

    def _begin_stall(self, ts: ToolState) -> None:
        self.phase = ToolPhase.STALL_RECOVERY
        self.stall_step = StallStep.LIFT
        self.stall_count += 1
        self._stall_t = 0.0
        self._step_t = 0.0
        self._stall_began = self._t
        self.flail.reset_integral()
        self.tiller.reset_integral()
        self.depth_loop.reset()
        self.governor.on_stall()
        self.events.append(ToolEvent(self._t, ToolEventKind.STALL.value, (
            f'stall {self.stall_count}: flail {ts.flail_speed:.1f} rad/s '
            f'{ts.flail_torque:.0f} N m, tiller {ts.tiller_speed:.1f} rad/s '
            f'{ts.tiller_torque:.0f} N m at {ts.depth:.3f} m: lifting')))

    def _recover(self, ts: ToolState, dt: float):
        """One step of a stall recovery: (flail target, tiller target, loops closed)."""
        p = self.params
        self._step_t += dt
        flail_t, tiller_t = p.flail_speed_radps, p.tiller_speed_radps
        if self.stall_step is StallStep.LIFT:
            # Out of the soil first (the load goes with it): a flail then spins up by itself;
            # a reversible rotor is not driven against the jam, it is reversed next.
            flail_t = 0.0 if p.flail_reversible else flail_t
            tiller_t = 0.0 if p.tiller_reversible else tiller_t
            if self._depth_cmd <= 0.0 and ts.depth <= p.depth_tolerance_m:
                self.stall_step = StallStep.REVERSE if (
                    (p.flail_reversible and p.flail_speed_radps > 0.0)
                    or (p.tiller_reversible and p.tiller_speed_radps > 0.0)) \
                    and p.reverse_time_s > 0.0 else StallStep.SPIN_UP
                self._step_t = 0.0
            return flail_t, tiller_t, False
        if self.stall_step is StallStep.REVERSE:
            flail_t = -p.reverse_speed_radps if p.flail_reversible else 0.0
            tiller_t = -p.reverse_speed_radps if p.tiller_reversible else 0.0
            flail_t = flail_t if p.flail_speed_radps > 0.0 else 0.0
            tiller_t = tiller_t if p.tiller_speed_radps > 0.0 else 0.0
            if self._step_t >= p.reverse_time_s:
                self.stall_step = StallStep.SPIN_UP
                self._step_t = 0.0
            return flail_t, tiller_t, False
        # SPIN_UP: back at speed for recover_time_s, then lower again (retry)
        if not self._at_speed(ts):
            self._step_t = 0.0
        elif self._step_t >= p.recover_time_s:
            self.phase = ToolPhase.LOWERING
            self.stall_step = None
            self.recoveries += 1
            took = self._t - (self._stall_began if self._stall_began is not None else self._t)
            self.recovery_times.append(took)
            self.events.append(ToolEvent(self._t, ToolEventKind.RECOVERED.value,
                                         f'rotors back at speed {took:.1f} s after the stall: '
                                         'lowering again'))
        return flail_t, tiller_t, self._at_speed(ts)

    def take_events(self) -> List[ToolEvent]:
        """The events since the last call (for the log and the record)."""
        out, self.events = self.events, []
        return out
