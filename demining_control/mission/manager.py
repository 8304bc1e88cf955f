"""Mission manager (pure core): the mission state machine, progress and the mission record.

``IDLE -> PLANNING -> CLEARING -> COMPLETE`` or ``ABORTED``. The mission starts by itself
(``auto_start``) or on request; it plans until a coverage path arrives, clears until the follower
reports ``done`` and the coverage planner says the coverage is final (coverage/status
``complete``, after its re-cover passes and its second pass over the suspects on processed
ground; no answer within ``recover_wait_s`` ends the wait), and then completes, below
``min_coverage_percent`` with the reason coverage is short. It
aborts on request, on a latched e-stop lasting ``estop_abort_s``, past its time limit
(:attr:`MissionManager.time_limit_s`: the area to process at ``min_clearance_rate_m2_per_h``
plus ``time_budget_margin_s``, or the operator's ``max_mission_time_s`` when that is sooner),
when no path arrives within ``planning_timeout_s``, at once when the coverage planner refuses
the area (coverage/status, with its reason), when a protective stop lasts
``protective_stop_abort_s`` while clearing, or when no new ground has been processed for
``no_progress_abort_s`` while clearing (a machine fenced in, stopped or lost: the mission ends
with its record instead of standing until the time limit).

Everything the clearance report needs is kept here, bounded: the trajectory decimated to
``trajectory_spacing_m``, the planned path, the latest fused detections, the sim events and the
safety transitions. :meth:`MissionManager.record_kwargs` returns them as keyword arguments of
``demining_bringup.report.MissionRecord``. Every transition, safety event and event is also
handed to :attr:`MissionManager.journal` when one is attached (the mission journal,
``demining_bringup/contract/journal.py``), and :meth:`MissionManager.restore` continues a
mission from a journal (resume after a crash).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from shapely.geometry import Polygon

from demining_bringup.contract.datatypes import (Detection, PlanStatus, SimEvent, ToolState,
                                                 VehicleState)
from demining_bringup.contract.journal import JournalContent
from demining_bringup.contract.parameters import param
from demining_bringup.contract import vehicle_params
from demining_bringup.contract.states import (ALLOWED_GROUND_EVENT_PREFIX,
                                              PEOPLE_ZONE_EVENT_PREFIX, FollowerStatus, PlanState,
                                              MissionState, SafetyState, ToolEventKind)
from demining_control.coverage.processed import ProcessedGrid

XY = Tuple[float, float]

#: Bounds of the record's lists (a mission of several hours stays in memory comfortably).
_MAX_TRAJECTORY = 200_000
_MAX_EVENTS = 10_000
_MAX_SAFETY_EVENTS = 10_000
#: The state column of a tool controller event in the record's safety events.
TOOL_EVENT_STATE = 'tool'
#: Processed area that counts as progress, m^2 (a tenth of a 0.1 m grid's row of a lane).
_PROGRESS_EPS_M2 = 0.01
#: Seconds per hour (rates are per hour).
_S_PER_H = 3600.0
#: The tool state is trusted this long for marking processed ground, s.
_TOOL_STATE_TIMEOUT_S = 0.5


class ToolIdle(enum.Enum):
    """Why the tool does not process ground at an instant of the clearing (for the report)."""

    #: Raised or not yet down at working depth: transits, pivots, lowering, keep-out lifts.
    NOT_AT_DEPTH = 'not at depth'
    #: At depth with a rotor below speed: spin-up, a stall, an e-stop's run-down.
    BELOW_SPEED = 'at depth below speed'
    #: No tool state, or none fresh: the processed ground cannot be claimed.
    NO_STATE = 'no fresh tool state'


@dataclasses.dataclass(frozen=True)
class MissionParams:
    """Parameters of the mission manager."""

    auto_start: bool = param(True, 'start the mission without waiting for /mission/start')
    estop_abort_s: float = param(300.0, 'abort when the e-stop stays latched this long, s',
                                 min=0.0, max=86400.0)
    max_mission_time_s: float = param(
        0.0, "the operator's cap (a shift): abort a mission running longer than this, s; 0: "
        'none, the time budget of min_clearance_rate_m2_per_h alone', min=0.0, max=604800.0)
    # The budget scales with the field: a fixed 4 h cut off missions that were still clearing
    # at the governed speed (farmland_rows at 89 %, 228-535 m^2/h measured, README).
    min_clearance_rate_m2_per_h: float = param(
        50.0, 'time budget: abort a mission that has run longer than the area to process takes '
        'at this rate (plus time_budget_margin_s); slower than a dog team (200-400 m^2 a day, '
        'docs/sources.md) the machine is not clearing, m^2/h', min=1.0, max=100000.0)
    time_budget_margin_s: float = param(3600.0, 'added to the time budget (planning, spin-up, '
                                        're-cover passes), s', min=0.0, max=86400.0)
    no_progress_abort_s: float = vehicle_params.no_progress_abort_s()
    planning_timeout_s: float = param(60.0, 'abort when no coverage path arrives within this, s',
                                      min=1.0, max=3600.0)
    stall_log_s: float = param(10.0, 'say why the machine stands (the protective stop and its '
                               'cause) once it has stood this long while planning or clearing, '
                               's', min=0.1, max=3600.0)
    protective_stop_abort_s: float = param(
        900.0, 'abort when a protective stop lasts this long while clearing (its cause did not '
        'clear: a stop is never a wait without end), s', min=1.0, max=86400.0)
    min_coverage_percent: float = param(99.0, 'coverage below this is explained in the report, '
                                        '%', min=0.0, max=100.0)
    recover_wait_s: float = param(
        60.0, 'with the path driven, wait this long for the planner to plan a re-cover pass '
        'or a second pass over the suspects, or to call the coverage final, before completing, '
        's', min=0.0, max=3600.0)
    trajectory_spacing_m: float = param(0.5, 'spacing of the recorded trajectory, m', min=0.01,
                                        max=10.0)
    processed_resolution_m: float = param(0.1, 'cell size of the processed-ground grid, m',
                                          min=0.02, max=2.0)
    tool_width_m: float = vehicle_params.tool_width_m()
    tool_offset_x_m: float = vehicle_params.tool_offset_x_m()
    working_depth_m: float = vehicle_params.working_depth_m()
    depth_tolerance_m: float = vehicle_params.depth_tolerance_m()
    flail_speed_radps: float = vehicle_params.flail_speed_radps()
    tiller_speed_radps: float = vehicle_params.tiller_speed_radps()
    ready_speed_fraction: float = vehicle_params.ready_speed_fraction()
    report_dir: str = param('', "run folder for the report ('' = a new runs/<UTC time>[-N])")
    vehicle_profile: str = param('', 'Name or file of the vehicle profile, for the report')
    simulated: bool = param(True, 'a simulator stands in for the machine (the report says so); '
                            'false only on the real machine', read_only=True)


class MissionManager:
    """The mission state machine and record (see the module docstring)."""

    def __init__(self, field: Sequence[XY], exclusion_zones: Sequence[Sequence[XY]] = (),
                 params: Optional[MissionParams] = None) -> None:
        """Create an idle mission over ``field`` minus ``exclusion_zones``."""
        self.params = params or MissionParams()
        p = self.params
        self.field = [tuple(map(float, q)) for q in field]
        self.exclusion_zones = [[tuple(map(float, q)) for q in z] for z in exclusion_zones]
        region = Polygon(self.field)
        for z in self.exclusion_zones:
            region = region.difference(Polygon(z))
        self.area_field_m2 = float(region.area)
        self.grid = ProcessedGrid(self.field, self.exclusion_zones, p.processed_resolution_m,
                                  p.tool_width_m, p.tool_offset_x_m)
        self.state = MissionState.IDLE
        self.reason = 'waiting for start'
        self.state_stamp = 0.0
        self.start_stamp: Optional[float] = None
        self.end_stamp: Optional[float] = None
        self.planned_path = np.zeros((0, 2))
        self._trajectory: List[XY] = []
        self.detections: List[Detection] = []
        self.events: List[SimEvent] = []
        self.safety_events: List[Dict[str, object]] = []
        self.transitions: List[Dict[str, object]] = []
        self.follower_status = FollowerStatus.IDLE
        #: Since when the follower has been done with its path (None: it is not).
        self._done_since: Optional[float] = None
        self._safety_state: Optional[SafetyState] = None
        self._estop_since: Optional[float] = None
        self._stop_since: Optional[float] = None
        self._stop_reason = ''
        #: The coverage planner's latest verdict (coverage/status), for the state and the report.
        self.plan_status: Optional[PlanStatus] = None
        #: Processed area at the last progress and when it was made (None: not clearing yet).
        self._progress_m2 = 0.0
        self._progress_stamp: Optional[float] = None
        self._tool: Optional[ToolState] = None
        self._tool_stamp: Optional[float] = None
        self._start_requested = p.auto_start
        #: Seconds of the clearing the tool did not process, by why (the report's reason).
        self._idle_s: Dict[ToolIdle, float] = {k: 0.0 for k in ToolIdle}
        self._stalls = 0
        self._last_pose_stamp: Optional[float] = None
        self._started_once = False
        #: The mission journal (transition, safety, event calls), or None.
        self.journal: Optional[Any] = None
        self._resumed = False

    # -- requests --------------------------------------------------------------------------

    def request_start(self, now: float) -> Tuple[bool, str]:
        """Ask the mission to start (/mission/start); return (accepted, message)."""
        if self.state is not MissionState.IDLE:
            return False, f'mission is {self.state.value}'
        self._start_requested = True
        self.update(now)
        return True, 'mission started'

    def abort(self, reason: str, now: float) -> Tuple[bool, str]:
        """Abort the mission (/mission/abort or a supervisor cause)."""
        if self.state.terminal:
            return False, f'mission already {self.state.value}'
        self._set(MissionState.ABORTED, reason, now)
        return True, f'mission aborted: {reason}'

    # -- inputs ----------------------------------------------------------------------------

    def on_path(self, xy: np.ndarray, now: float) -> None:
        """Take the planned coverage path (N x 2, or N x 3 with the facing yaw)."""
        xy = np.asarray(xy, dtype=float)
        xy = xy[:, :2] if xy.ndim == 2 and xy.shape[1] == 3 else xy.reshape(-1, 2)
        if len(xy) and np.isfinite(xy).all():
            self.planned_path = xy
            self.update(now)

    def on_pose(self, pose: VehicleState) -> None:
        """Record the trajectory and mark processed ground while clearing."""
        if not all(math.isfinite(v) for v in (pose.x, pose.y, pose.yaw, pose.stamp)):
            return
        if self.state is not MissionState.CLEARING:
            self.grid.update(pose.x, pose.y, pose.yaw, False)
            return
        idle = self.tool_idle(pose.stamp)
        if self._last_pose_stamp is not None and idle is not None:
            self._idle_s[idle] += max(0.0, pose.stamp - self._last_pose_stamp)
        self._last_pose_stamp = pose.stamp
        self.grid.update(pose.x, pose.y, pose.yaw, idle is None)
        p = (pose.x, pose.y)
        if not self._trajectory or math.dist(self._trajectory[-1], p) >= \
                self.params.trajectory_spacing_m:
            self._trajectory.append(p)
            if len(self._trajectory) > _MAX_TRAJECTORY:
                # keep the bound by halving the density of the older half
                half = len(self._trajectory) // 2
                self._trajectory = self._trajectory[:half:2] + self._trajectory[half:]

    def on_tool_state(self, ts: ToolState, now: float) -> None:
        """Take the measured tool state."""
        if all(math.isfinite(v) for v in (ts.flail_speed, ts.tiller_speed, ts.depth)):
            self._tool, self._tool_stamp = ts, now

    def tool_working(self, now: float) -> bool:
        """Return whether the tool processes ground (rotor at speed, at depth, fresh)."""
        return self.tool_idle(now) is None

    def tool_idle(self, now: float) -> Optional[ToolIdle]:
        """Why the tool does not process ground now, or None when it does."""
        p = self.params
        ts = self._tool
        if ts is None or self._tool_stamp is None or now - self._tool_stamp > \
                _TOOL_STATE_TIMEOUT_S:
            return ToolIdle.NO_STATE
        if ts.depth < p.working_depth_m - p.depth_tolerance_m:
            return ToolIdle.NOT_AT_DEPTH
        # every rotor the machine has must be at speed (a tiller-only machine: the drum; a
        # flail + tiller: both)
        rotors_ready = all(
            measured >= target * p.ready_speed_fraction
            for measured, target in ((ts.flail_speed, p.flail_speed_radps),
                                     (ts.tiller_speed, p.tiller_speed_radps)) if target > 0.0)
        return None if rotors_ready else ToolIdle.BELOW_SPEED

    def tool_idle_summary(self) -> str:
        """The seconds of the clearing the tool did not process, by why, and the stalls.

        Most of it is normally the tool raised for transits and pivots (the follower lifts it
        off the work runs), not stalls: the report says which.
        """
        parts = ', '.join(f'{k.value} {v:.0f} s' for k, v in self._idle_s.items() if v >= 0.5)
        total = sum(self._idle_s.values())
        return (f'the tool did not process for {total:.0f} s while clearing'
                f'{" (" + parts + ")" if parts else ""}, {self._stalls} tool '
                f'{"stall" if self._stalls == 1 else "stalls"}')

    def on_follower_status(self, status: FollowerStatus, now: float) -> None:
        """Take /follower/status."""
        status = FollowerStatus(status)
        if status is not FollowerStatus.DONE:
            self._done_since = None
        elif self._done_since is None:
            self._done_since = now
        self.follower_status = status
        self.update(now)

    def on_safety_state(self, state: SafetyState, now: float, reason: str = '') -> None:
        """Record a /safety/state change (and time a latched e-stop)."""
        state = SafetyState(state)
        if state is self._safety_state:
            if reason.startswith((PEOPLE_ZONE_EVENT_PREFIX, ALLOWED_GROUND_EVENT_PREFIX)):
                # a people-zone change (clear, slow, stop) and a motion leaving allowed ground
                # (recorded, not refused) go in the record though the state stays
                self.safety_events.append({'stamp': float(now), 'state': state.value,
                                           'reason': reason})
                del self.safety_events[:-_MAX_SAFETY_EVENTS]
                if self.journal is not None:
                    self.journal.safety(float(now), state.value, reason)
            return
        self._safety_state = state
        self.safety_events.append({'stamp': float(now), 'state': state.value,
                                   'reason': reason or 'reported on /safety/state'})
        del self.safety_events[:-_MAX_SAFETY_EVENTS]
        if self.journal is not None:
            self.journal.safety(float(now), state.value, reason or 'reported on /safety/state')
        self._estop_since = now if state is SafetyState.ESTOP else None
        self._stop_since = now if state is SafetyState.PROTECTIVE_STOP else None
        self._stop_reason = reason
        self.update(now)

    def on_tool_event(self, kind: str, now: float, detail: str = '') -> None:
        """Record a tool controller event (stall, recovery, feedback lost or back).

        It goes with the safety events, as state :data:`TOOL_EVENT_STATE`: the record of a
        machine's stops and of its tool's stalls is one timeline (issue 11, "all in the report").
        """
        reason = f'{kind}: {detail}' if detail else kind
        self._stalls += kind == ToolEventKind.STALL
        self.safety_events.append({'stamp': float(now), 'state': TOOL_EVENT_STATE,
                                   'reason': reason})
        del self.safety_events[:-_MAX_SAFETY_EVENTS]
        if self.journal is not None:
            self.journal.safety(float(now), TOOL_EVENT_STATE, reason)

    def stalled(self, now: float) -> Optional[str]:
        """Why the machine stands, once a protective stop has lasted ``stall_log_s``.

        None while it moves, or a stop is younger; the host logs the line once per stop, so a
        mission that cannot start or go on says why within seconds, not at the abort.
        """
        if self.state not in (MissionState.PLANNING, MissionState.CLEARING):
            return None
        since = self._stop_since if self._stop_since is not None else (
            self.start_stamp if self._safety_state is None else None)
        if since is None or now - since < self.params.stall_log_s:
            return None
        why = self._stop_reason if self._safety_state is not None else \
            'no safety state from the supervisor'
        return f'standing for {now - since:.0f} s in a protective stop: {why}'

    def on_plan_status(self, status: PlanStatus, now: float) -> None:
        """Take coverage/status: a refused plan ends the mission with the planner's reason."""
        self.plan_status = status
        if PlanState(status.state) is PlanState.REFUSED and not self.state.terminal:
            self._set(MissionState.ABORTED, status.reason or 'coverage plan refused', now)

    def on_detections(self, detections: List[Detection]) -> None:
        """Keep the latest fused detections (the fusion node publishes the full list)."""
        self.detections = list(detections)

    def on_event(self, ev: SimEvent) -> None:
        """Record a sim event (neutralised, detonations, ...)."""
        self.events.append(ev)
        del self.events[:-_MAX_EVENTS]
        if self.journal is not None:
            self.journal.event(ev)

    # -- state machine ---------------------------------------------------------------------

    def update(self, now: float) -> MissionState:
        """Advance the state machine at time ``now``; return the state."""
        p = self.params
        s = self.state
        if s is MissionState.IDLE and self._start_requested:
            if self.start_stamp is None:          # a resumed mission keeps its start
                self.start_stamp = now
            self._set(MissionState.PLANNING, 'resumed from the journal: re-planning the '
                      'remaining ground' if self._resumed else 'waiting for the coverage path',
                      now)
        if self.state is MissionState.PLANNING:
            if len(self.planned_path):
                self._set(MissionState.CLEARING, 'following the coverage path', now)
            elif now - self.state_stamp > p.planning_timeout_s:
                self._set(MissionState.ABORTED, f'no coverage path within '
                          f'{p.planning_timeout_s:.0f} s', now)
        if self.state is MissionState.CLEARING:
            self._check_progress(now)
        if self.state in (MissionState.PLANNING, MissionState.CLEARING):
            if self._estop_since is not None and now - self._estop_since >= p.estop_abort_s:
                self._set(MissionState.ABORTED, f'e-stop latched for more than '
                          f'{p.estop_abort_s:.0f} s', now)
            elif (self.state is MissionState.CLEARING and self._stop_since is not None
                  and now - max(self._stop_since, self.state_stamp)
                  >= p.protective_stop_abort_s):
                self._set(MissionState.ABORTED, f'protective stop for more than '
                          f'{p.protective_stop_abort_s:.0f} s ({self._stop_reason})', now)
            elif self.start_stamp is not None and now - self.start_stamp > self.time_limit_s:
                self._set(MissionState.ABORTED, f'mission time over {self.time_limit_s:.0f} s '
                          f'({self._time_limit_reason()})', now)
        if self.state is MissionState.CLEARING and self._coverage_final(now):
            self._set(MissionState.COMPLETE, self._completion_reason(), now)
        return self.state

    @property
    def time_budget_s(self) -> float:
        """The area to process at ``min_clearance_rate_m2_per_h``, plus the margin, s."""
        p = self.params
        return (self.area_field_m2 / p.min_clearance_rate_m2_per_h * _S_PER_H
                + p.time_budget_margin_s)

    @property
    def time_limit_s(self) -> float:
        """Mission time after which the mission is aborted: the budget, or the operator's
        ``max_mission_time_s`` when that is set and sooner, s."""
        cap = self.params.max_mission_time_s
        return min(cap, self.time_budget_s) if cap > 0.0 else self.time_budget_s

    def _time_limit_reason(self) -> str:
        p = self.params
        if 0.0 < p.max_mission_time_s <= self.time_budget_s:
            return 'max_mission_time_s'
        return (f'the budget of {self.area_field_m2:.0f} m^2 at '
                f'{p.min_clearance_rate_m2_per_h:g} m^2/h')

    def _coverage_final(self, now: float) -> bool:
        """The path is driven and no more will come: the planner says the coverage is final
        (re-cover passes and the second pass over the suspects made, or nothing left it
        reaches), or it has not answered within ``recover_wait_s``.

        Enough processed was final too, and the second pass never came: the mission
        completed as the follower reported the path done (bench/missions.py
        gen_lshape_sand_rows seeds 66 and 67, a PMA-2 each left intact under the flail)."""
        if self.follower_status is not FollowerStatus.DONE:
            return False
        st = self.plan_status
        return ((st is not None and PlanState(st.state) is PlanState.COMPLETE)
                or (self._done_since is not None
                    and now - self._done_since >= self.params.recover_wait_s))

    def _check_progress(self, now: float) -> None:
        """Abort when no new ground has been processed for ``no_progress_abort_s``."""
        area = self.grid.processed_area_m2()
        if self._progress_stamp is None or area > self._progress_m2 + _PROGRESS_EPS_M2:
            self._progress_m2, self._progress_stamp = area, now
            return
        idle = now - self._progress_stamp
        if idle >= self.params.no_progress_abort_s:
            last = self.safety_events[-1] if self.safety_events else {}
            self._set(MissionState.ABORTED, f'no progress: no new ground processed for '
                      f'{idle:.0f} s (safety: {last.get("state", "?")}, '
                      f'{last.get("reason", "?")})', now)

    def _completion_reason(self) -> str:
        cov = self.grid.coverage_percent()
        p = self.params
        if cov >= p.min_coverage_percent:
            return f'coverage path complete, {cov:.1f} % processed'
        missing = self.grid.mask & ~self.grid.processed
        ys, xs = np.nonzero(missing)
        where = ''
        if len(xs):
            cx = self.grid.origin_x + (xs.mean() + 0.5) * self.grid.resolution
            cy = self.grid.origin_y + (ys.mean() + 0.5) * self.grid.resolution
            where = f', unprocessed cells centred near ({cx:.1f}, {cy:.1f})'
        area = float(missing.sum()) * self.grid.resolution ** 2
        return (f'coverage path complete but only {cov:.1f} % processed (below '
                f'{p.min_coverage_percent:.1f} %): {area:.1f} m^2 left unprocessed{where}; '
                f'{self.tool_idle_summary()}; lanes stop short of exclusion zones'
                f'{self._planner_verdict()}')

    def _planner_verdict(self) -> str:
        """The planner's word on what is left, when it called the coverage final."""
        st = self.plan_status
        if st is None or PlanState(st.state) is not PlanState.COMPLETE or not st.reason:
            return ''
        return f'; planner: {st.reason}'

    def _set(self, state: MissionState, reason: str, now: float) -> None:
        if state is self.state:
            return
        self.state, self.reason, self.state_stamp = state, reason, now
        self.transitions.append({'stamp': float(now), 'state': state.value, 'reason': reason})
        if self.journal is not None:
            self.journal.transition(float(now), state.value, reason)
        if state.terminal:
            self.end_stamp = now
            if self.start_stamp is None:
                self.start_stamp = now

    # -- resume ----------------------------------------------------------------------------

    def restore(self, content: JournalContent, offset_s: float) -> None:
        """Continue the mission a journal records (this run's clock starts at ``offset_s``).

        Processed ground, trajectory, safety events, events and transitions come back (their
        stamps moved to this run's clock, so they are negative), and the mission start, so
        the time limit counts the whole mission. The state machine starts again from
        idle and re-plans the remaining ground.

        :raises ValueError: when the journal's mission has ended or its grid differs.
        """
        if content.last_state in {s.value for s in MissionState if s.terminal}:
            raise ValueError(f'the journal\'s mission is already {content.last_state}: '
                             'nothing to resume')
        if content.processed is not None:
            if content.processed.shape != self.grid.processed.shape:
                raise ValueError('the journal\'s processed-ground grid differs from this '
                                 'area\'s (another area or resolution)')
            # assigned, not or-ed in place: the grid keeps its figures from what it is given
            self.grid.processed = self.grid.processed | content.processed
        self._trajectory = [(float(x), float(y)) for x, y, _ in content.trajectory]
        self.safety_events = [dict(e, stamp=e['stamp'] - offset_s)
                              for e in content.safety_events][-_MAX_SAFETY_EVENTS:]
        # the stalls before the crash still count in the reason (the idle seconds start again)
        self._stalls = sum(e['state'] == TOOL_EVENT_STATE and
                           e['reason'].partition(':')[0] == ToolEventKind.STALL.value
                           for e in self.safety_events)
        self.events = [dataclasses.replace(e, stamp=e.stamp - offset_s)
                       for e in content.machine_events + content.truth_events][-_MAX_EVENTS:]
        self.transitions = [{'stamp': t['stamp'] - offset_s, 'state': t['state'],
                             'reason': t['reason']} for t in content.transitions]
        starts = [t['stamp'] for t in content.transitions
                  if t['state'] == MissionState.PLANNING.value]
        if starts:
            self.start_stamp = starts[0] - offset_s
        self.detections = list(content.tracks)
        self._resumed = True

    # -- figures and record ----------------------------------------------------------------

    @property
    def trajectory(self) -> np.ndarray:
        """Decimated trajectory (N x 2)."""
        return np.asarray(self._trajectory, dtype=float).reshape(-1, 2)

    def coverage_percent(self) -> float:
        """Processed share of the field minus exclusions, percent."""
        return self.grid.coverage_percent()

    def record_kwargs(self) -> Dict[str, object]:
        """Return the record fields (``MissionRecord(**kwargs, world_name=, origin=)``)."""
        outcome = (MissionState.COMPLETE if self.state is MissionState.COMPLETE
                   else MissionState.ABORTED).value
        return dict(
            field=list(self.field), exclusion_zones=[list(z) for z in self.exclusion_zones],
            planned_path=self.planned_path.copy(), trajectory=self.trajectory,
            processed=(self.grid.processed & self.grid.mask).copy(),
            processed_origin_x=self.grid.origin_x, processed_origin_y=self.grid.origin_y,
            processed_resolution=self.grid.resolution,
            coverage_percent=self.grid.coverage_percent(), area_field_m2=self.area_field_m2,
            area_cleared_m2=self.grid.processed_area_m2(), detections=list(self.detections),
            events=list(self.events), safety_events=[dict(e) for e in self.safety_events],
            start_stamp=float(self.start_stamp if self.start_stamp is not None else 0.0),
            end_stamp=float(self.end_stamp if self.end_stamp is not None else 0.0),
            outcome=outcome, reason=self.reason, tool_width_m=self.params.tool_width_m,
            working_depth_m=self.params.working_depth_m)
