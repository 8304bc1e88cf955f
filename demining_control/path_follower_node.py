"""Node ``path_follower``: follows /coverage/path while the mission is clearing.

Inputs /coverage/path and /coverage/status (its work legs: the tool is down on those only;
without them, as for a path from another planner, the legs within ``work_reach_m`` of the field
are work), /localization/odometry, /mission/state, /tool/speed_limit (the tool's governed speed
on work legs), /safety/events; outputs /cmd_vel/auto (every control period: zero
unless clearing with a fresh pose), /follower/status and /follower/leg (latched, on change).
With no fresh speed limit the work legs are driven at ``min_speed_mps`` (the tool controller is
the one that knows what the soil allows). When the safety supervisor refuses a forward work
motion because its tracks would reach ground the tool skipped (a stop lifted the tool while the
machine rolled on), the follower backs up ``resume_backup_m`` and drives the stretch again, so
the tool processes it first (at most ``max_backups_here`` times within that distance of one
place).
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np

from demining_bringup.contract import topics, vehicle_params
from demining_bringup.contract.area import load_area
from demining_bringup.contract.component import Component, Port, Status
from demining_bringup.contract.datatypes import PlanStatus, SafetyEvent, Twist2D, VehicleState
from demining_bringup.contract.parameters import param
from demining_bringup.contract.states import (ALLOWED_GROUND_STOP, INTERLOCK_HOLD, DiagLevel,
                                              FollowerStatus, LegKind, MissionState)
from demining_control.coverage.planner import classify_work
from demining_control.follower.pure_pursuit import FollowerParams, PathFollower

XY = Tuple[float, float]


@dataclasses.dataclass(frozen=True)
class PathFollowerConfig(FollowerParams):
    """Node parameters: the follower's plus how work legs are recognised."""

    area_file: str = vehicle_params.area_file()
    control_period_s: float = param(0.1, 'period of the control loop (/cmd_vel/auto), s',
                                    min=0.01, max=1.0, read_only=True)
    work_reach_m: float = param(4.0, 'without the planner\'s work legs (coverage/status), path '
                                'points within this of the field are work legs '
                                '(tool_offset_x_m + lane_end_margin_m + a little), m', min=0.0,
                                max=100.0)
    pose_timeout_s: float = param(0.5, 'no motion when the pose is older than this, s',
                                  min=0.05, max=10.0)
    speed_limit_timeout_s: float = param(0.5, 'a tool speed limit older than this is not '
                                         'trusted (work legs at min_speed_mps), s', min=0.05,
                                         max=10.0)
    # The strip a stop leaves unprocessed: the roll-out at working speed (0.4 m/s at 0.5 m/s^2,
    # demining_sim/vehicle.py: 0.16 m) plus the stop's latency, ~0.35 m in the simulated
    # people stop; the back-up covers it with reserve and stays on the ground the tracks came
    # over (the tool is 0.6 m ahead of the tracks' front).
    resume_backup_m: float = param(0.8, 'back-up before driving a stretch again whose tool strip '
                                   'a stop left unprocessed, m', min=0.1, max=5.0)
    max_backups_here: int = param(2, 'back-ups within resume_backup_m of one place before the '
                                  'follower gives up (the stop then stands; the mission decides)',
                                  min=1, max=10)


class PathFollowerComponent(Component):
    """Pure pursuit along the coverage path, gated on the mission state and pose freshness."""

    name = 'path_follower'
    params = PathFollowerConfig
    inputs = {'path': Port(topics.COVERAGE_PATH), 'plan_status': Port(topics.COVERAGE_STATUS),
              'pose': Port(topics.LOCALIZATION),
              'mission': Port(topics.MISSION_STATE),
              'speed_limit': Port(topics.TOOL_SPEED_LIMIT), 'safety': Port(topics.SAFETY_EVENTS)}
    outputs = {'cmd': Port(topics.CMD_VEL_AUTO, actuator=True),
               'status': Port(topics.FOLLOWER_STATUS), 'leg': Port(topics.FOLLOWER_LEG)}

    def on_configure(self, params: PathFollowerConfig) -> None:
        """Build the follower; load the field that tells work legs from transits."""
        self.config = params
        self.follower = PathFollower(params)
        self.field: Optional[List[XY]] = (load_area(params.area_file).field
                                          if params.area_file else None)
        self.mission = MissionState.IDLE
        self.pose: Optional[VehicleState] = None
        self.pose_time: Optional[float] = None
        self._published: Optional[FollowerStatus] = None
        self._published_leg: Optional[LegKind] = None
        self.speed_limit: Optional[float] = None
        self.speed_limit_time: Optional[float] = None
        self._backups: List[XY] = []
        self.plan_status: Optional[PlanStatus] = None
        self.path_len = 0

    def on_activate(self, now: float) -> None:
        """Publish the status (latched)."""
        self._published = None
        self._published_leg = None
        self._publish_status()

    def timers(self) -> Dict[str, float]:
        """The control loop."""
        return {'control': self.config.control_period_s}

    def on_path(self, xy: np.ndarray, now: float) -> None:
        """Follow a new path: its work legs from the planner's status when it came first, else
        classified against the field until it comes (:meth:`on_plan_status`)."""
        work = self._planned_work(len(xy))
        try:
            if work is None and self.field is not None:
                work = classify_work(xy[:, :2], self.field, self.config.work_reach_m)
            self.follower.set_path(xy, work)
        except ValueError as exc:
            self.log.warning(f'bad path dropped: {exc}', throttle_s=5.0)
            return
        self.path_len = len(xy)
        self.log.info(f'following a path of {len(xy)} waypoints')
        self._publish_status()

    def on_plan_status(self, status: PlanStatus, now: float) -> None:
        """Keep the planner's work legs; apply them to the path they belong to.

        The path and its status are two latched topics published together: either may come
        first. The status names the number of poses of its path; flags that do not fit the
        path being followed wait for theirs.
        """
        self.plan_status = status
        work = self._planned_work(self.path_len)
        if work is not None and self.follower.set_work(work):
            self._publish_status()

    def _planned_work(self, n: int) -> Optional[np.ndarray]:
        """The planner's work flags for a path of ``n`` poses, None when its status is not
        that path's."""
        st = self.plan_status
        if st is None or n < 2 or st.waypoints != n:
            return None
        return st.work_flags()

    def on_pose(self, pose: VehicleState, now: float) -> None:
        """Keep the latest pose and when it arrived."""
        self.pose, self.pose_time = pose, now

    def on_speed_limit(self, limit: float, now: float) -> None:
        """Keep the tool's speed limit and when it arrived."""
        self.speed_limit, self.speed_limit_time = float(limit), now

    def on_safety(self, ev: SafetyEvent, now: float) -> None:
        """Back up when a forward work motion is refused for ground the tool skipped; lower
        the tool on a transit the processed-ground interlock holds."""
        if ev.reason.startswith(INTERLOCK_HOLD):
            if self.follower.work_current_leg():
                self.log.warning('the interlock holds this transit (its tool line is over '
                                 'unprocessed ground): driving it as a work leg, tool down')
                self._publish_status()
            return
        if not ev.reason.startswith(ALLOWED_GROUND_STOP + ' (forward') or self.pose is None:
            return
        p = self.pose
        here = sum(1 for b in self._backups
                   if np.hypot(b[0] - p.x, b[1] - p.y) <= self.config.resume_backup_m)
        if here >= self.config.max_backups_here:
            self.log.warning('forward motion refused (allowed ground) again after backing up: '
                             'standing', throttle_s=10.0)
            return
        if self.follower.back_up(p.x, p.y, p.yaw, self.config.resume_backup_m):
            self._backups = self._backups[-100:] + [(p.x, p.y)]
            self.log.info(f'backing up {self.config.resume_backup_m:g} m: the tool processes '
                          'the strip a stop left before the tracks reach it')

    def on_mission(self, state: MissionState, now: float) -> None:
        """Keep the mission state (the follower drives only while clearing)."""
        self.mission = state

    def control(self, now: float) -> None:
        """One control step: a command (zero unless clearing with a fresh pose), the status."""
        cmd = Twist2D()
        fresh = self.pose is not None and self.pose_time is not None and \
            now - self.pose_time <= self.config.pose_timeout_s
        limit_fresh = self.speed_limit_time is not None and \
            now - self.speed_limit_time <= self.config.speed_limit_timeout_s
        self.follower.speed_limit_mps = self.speed_limit if limit_fresh \
            else self.config.min_speed_mps
        if self.mission is MissionState.CLEARING and fresh:
            returns = self.follower.corner_returns
            cmd = self.follower.update(self.pose, self.config.control_period_s)
            if self.follower.corner_returns != returns:
                self.log.info(f'rolled {self.follower.last_overrun_m:.2f} m past a corner: '
                              'reversing to it before the pivot')
        self.emit('cmd', Twist2D(float(cmd.v), float(cmd.omega)))
        self._publish_status()

    def _publish_status(self) -> None:
        status = self.follower.status
        if status is not self._published:
            self._published = status
            self.emit('status', status)
        leg = self.follower.leg if self.mission is MissionState.CLEARING else LegKind.NONE
        if leg is not self._published_leg:
            self._published_leg = leg
            self.emit('leg', leg)

    def diagnostics(self, now: float) -> Status:
        """Status, progress and tracking errors."""
        f = self.follower
        level = DiagLevel.OK if f.status is not FollowerStatus.IDLE else DiagLevel.WARN
        return level, f.status.value, {
            'status': f.status.value, 'mission_state': self.mission.value,
            'progress_index': f.progress_index, 'cross_track_m': f'{f.cross_track_m:.3f}',
            'heading_error_rad': f'{f.heading_error_rad:.3f}', 'leg': f.leg.value,
            'corner_returns': f.corner_returns,
            'speed_limit_mps': f'{f.speed_limit_mps:.3f}'
            if f.speed_limit_mps is not None else 'none'}


def main(args: Optional[List[str]] = None) -> int:
    """Run the node (console script ``path_follower_node``)."""
    from demining_bringup.hosts.ros import run_component
    return run_component(PathFollowerComponent, args)


if __name__ == '__main__':
    raise SystemExit(main())
