"""Run a whole mission over the pure cores, without DDS: ``demine run --backend core``.

The same resolved node list as :mod:`demining_bringup.runner` (``stack.resolve_stack``), the
same parameter schemas (each node module's dataclass, built with
:func:`demining_bringup.parameters.from_dict`) and the same wiring as the nodes, but driven as
one synchronous loop on the simulator's clock: every ``1 / clock_rate_hz`` simulated seconds
the simulator advances, its outputs are handed to their consumers in the order it produced
them, then the timers that are due fire in a fixed order (localisation, path follower, tool
controller, safety supervisor, fusion, mission manager). Nothing depends on thread or message
timing, so one seed gives one clearance report, byte for byte (``report.md`` carries its
generation time; the other files do not).

What the messages would do to values is mirrored (stamps rounded to the nanosecond, yaw through
a quaternion, point clouds in float32, non-finite rows and messages dropped like the decoders
drop them), so the numbers match those a DDS run sees; what the core backend cannot reproduce
is listed in :data:`DIFFERENCES`.

No rclpy here. The node-level parameter schemas (``SimNodeParams``, the ``*Config`` classes)
live in the node modules, which are imported (not instantiated) to read them.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import importlib
import json
import math
import os
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Set

import numpy as np

from demining_bringup.area import load_area
from demining_bringup.datatypes import (Detection, DetectionKind, GprScan, MdScan, SimEvent,
                                        ToolCommand, ToolState, Twist2D, VehicleState)
from demining_bringup.errors import ConfigError
from demining_bringup.parameters import from_dict, schema_of
from demining_bringup.report import MissionRecord, write_report
from demining_bringup.stack import WILDCARD, ResolvedNode, find_world
from demining_control.coverage.planner import PlanningError, classify_work, plan_coverage
from demining_control.follower.pure_pursuit import PathFollower
from demining_control.mission.manager import TERMINAL, MissionManager
from demining_control.safety.supervisor import SafetyInputs, SafetySupervisor
from demining_control.tools.controller import ToolController
from demining_perception.fusion.core import FusionCore
from demining_perception.gpr.processing import GprProcessor
from demining_perception.localization.ekf import LocalizationCore
from demining_perception.metal_detector.processing import MdProcessor
from demining_perception.pose_buffer import PoseBuffer
from demining_sim.faults import load_scenario
from demining_sim.sensors.gnss import GnssFix
from demining_sim.sensors.imu import ImuSample
from demining_sim.sensors.odometry import OdomSample
from demining_sim.simulator import Heartbeat, SimParams, Simulator
from demining_sim.world import load_world

#: Mission states after which the run stops (as in :mod:`demining_bringup.runner`).
FINAL_STATES = ('complete', 'aborted')
#: Node name -> name of its parameter schema in the node's own module (read from each node).
SCHEMAS: Mapping[str, str] = {
    'simulator': 'SimNodeParams',
    'localization': 'LocalizationParams',
    'gpr_processor': 'GprParams',
    'md_processor': 'MdParams',
    'fusion': 'FusionParams',
    'coverage_planner': 'CoveragePlannerConfig',
    'path_follower': 'PathFollowerConfig',
    'tool_controller': 'ToolParams',
    'safety_supervisor': 'SafetySupervisorConfig',
    'mission_manager': 'MissionManagerConfig',
}
#: What the core backend does not reproduce of a DDS run (for the report and the docs).
DIFFERENCES = (
    'commands change only at clock ticks (the DDS simulator also steps between ticks)',
    'no lockstep or real_time_factor: the loop runs as fast as the cores allow',
    'message-level faults (garbage_message, node_crash) are not enacted',
    'no /diagnostics, markers, occupancy grids or services (/safety/reset, /mission/*)',
)
_DEFAULT_PROGRESS_PERIOD_S = 60.0
_DEFAULT_SIM_TIME_LIMIT_S = 4 * 3600.0
_NS_PER_S = 10 ** 9
_T_EPS = 1e-9
_CLEARING = 'clearing'
#: Parent of run folders when report_dir is '' (as mission_manager_node).
_RUNS_DIR = 'runs'
#: sensor_msgs/NavSatStatus.STATUS_FIX: a status at or above it is a fix.
_STATUS_FIX = 0
#: REP-145: a covariance[0] of -1 means "this field is not provided".
_NOT_PROVIDED = -1.0


# --- what the wire does to values -----------------------------------------------------------

def wire_time(t: float) -> float:
    """``stamp_to_sec(sec_to_stamp(t))``: a stamp rounded to the nanosecond."""
    ns = max(0, int(round(t * _NS_PER_S)))
    return ns // _NS_PER_S + (ns % _NS_PER_S) * 1e-9


def _yaw_from_xyzw(x: float, y: float, z: float, w: float) -> float:
    # codec.yaw_from_quaternion, same expression (same bits).
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def wire_yaw(yaw: float) -> float:
    """A yaw sent as a quaternion (codec.quaternion_from_yaw) and read back."""
    return _yaw_from_xyzw(0.0, 0.0, math.sin(yaw / 2.0), math.cos(yaw / 2.0))


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def _f32(v: float) -> float:
    return float(np.float32(v))


def wire_detections(dets: List[Detection], source: str) -> List[Detection]:
    """A detection list through the PointCloud2 layout (float32; bad rows dropped)."""
    kinds = {int(k) for k in DetectionKind}
    out = []
    for d in dets:
        x, y, z, conf = _f32(d.x), _f32(d.y), _f32(-d.depth), _f32(d.confidence)
        if not _finite(x, y, z, conf) or int(d.kind) not in kinds:
            continue
        out.append(Detection(x=x, y=y, depth=-z, confidence=min(1.0, max(0.0, conf)),
                             kind=DetectionKind(int(d.kind)), source=source,
                             radius=_f32(d.radius), id=int(np.uint32(d.id)),
                             strength=_f32(d.strength)))
    return out


def _finite_rows(*columns: np.ndarray) -> np.ndarray:
    ok = np.ones(columns[0].shape[0], dtype=bool)
    for c in columns:
        ok &= np.isfinite(c.reshape(c.shape[0], -1)).all(axis=1)
    return ok


def wire_gpr_scan(scan: GprScan) -> GprScan:
    """A GPR batch through the PointCloud2 layout (float32; non-finite traces dropped)."""
    amps = np.asarray(scan.amplitudes, dtype=np.float32)
    n = amps.shape[0] if amps.ndim == 2 else 0
    pos = np.asarray(scan.positions, dtype=np.float32).reshape(n, 3)
    offsets = np.asarray(scan.time_offsets, dtype=np.float32)
    ok = _finite_rows(pos, offsets, amps)
    return GprScan(stamp=wire_time(scan.stamp), positions=pos[ok].astype(np.float64),
                   time_offsets=offsets[ok].astype(np.float64),
                   channels=np.asarray(scan.channels, dtype=np.uint32)[ok].astype(np.int64),
                   sample_interval_ns=_f32(scan.sample_interval_ns) if ok.any() else 0.0,
                   amplitudes=amps[ok], frame_id=scan.frame_id)


def wire_md_scan(scan: MdScan) -> MdScan:
    """A metal-detector batch through the PointCloud2 layout (float32; bad rows dropped)."""
    signals = np.asarray(scan.signals, dtype=np.float32)
    pos = np.asarray(scan.positions, dtype=np.float32).reshape(signals.shape[0], 3)
    offsets = np.asarray(scan.time_offsets, dtype=np.float32)
    ok = _finite_rows(pos, offsets, signals)
    return MdScan(stamp=wire_time(scan.stamp), positions=pos[ok].astype(np.float64),
                  time_offsets=offsets[ok].astype(np.float64),
                  channels=np.asarray(scan.channels, dtype=np.uint32)[ok].astype(np.int64),
                  signals=signals[ok], frame_id=scan.frame_id)


def wire_tool_state(ts: ToolState) -> Optional[ToolState]:
    """A tool state through JointState (None where the decoder would drop it)."""
    vals = (ts.flail_speed, ts.tiller_speed, ts.depth, ts.flail_torque, ts.tiller_torque)
    if not _finite(*vals):
        return None
    return dataclasses.replace(ts, stamp=wire_time(ts.stamp))


def wire_event(ev: SimEvent) -> Optional[SimEvent]:
    """A sim event through its JSON String (None where encoding or decoding would fail)."""
    if not _finite(ev.stamp, ev.x, ev.y):
        return None
    extra = json.loads(json.dumps(ev.extra)) if ev.extra else None
    return dataclasses.replace(ev, extra=extra)


# --- parameters -----------------------------------------------------------------------------

def schema_for(spec: ResolvedNode) -> type:
    """Return the parameter schema class a node declares (read from its module)."""
    name = SCHEMAS.get(spec.name)
    if name is None:
        raise ConfigError(f'node {spec.name}: the core backend has no wiring for it (it runs '
                          'the embedded simulator stack only)')
    try:
        return getattr(importlib.import_module(spec.module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f'node {spec.name}: cannot load {spec.module}.{name} ({exc})') \
            from None


def build_parameters(nodes: List[ResolvedNode]) -> Dict[str, Any]:
    """Return ``{node name: validated parameter dataclass}`` for the resolved nodes."""
    return {spec.name: from_dict(schema_for(spec), spec.parameters, where=spec.name,
                                 allow_unknown=True) for spec in nodes}


def check_profile(nodes: List[ResolvedNode], profile: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse profile parameters no node declares (what ``runner.check_declared`` does)."""
    declared: Set[str] = {'use_sim_time'}
    for spec in nodes:
        names = set(schema_of(schema_for(spec))) | {'use_sim_time'}
        declared |= names
        for key in profile.get(spec.name, {}):
            if key not in names:
                raise ConfigError(f'parameter file: {spec.name}.{key}: unknown parameter')
    for key in profile.get(WILDCARD, {}):
        if key not in declared:
            raise ConfigError(f'parameter file: /**.{key}: no node declares this parameter')


# --- the run --------------------------------------------------------------------------------

@dataclasses.dataclass
class CoreRunResult:
    """How a core-backend run ended (the fields of ``runner.RunResult``, plus sim time)."""

    mission_state: str
    run_dir: str
    summary: Optional[dict]
    wall_time_s: float
    sim_time_s: float = 0.0
    timed_out: bool = False
    failed_nodes: List[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the mission completed and wrote its report."""
        return self.mission_state == 'complete' and self.summary is not None


class _Timer:
    """A periodic timer on simulated time (first fire one period after the start)."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._n = 1

    def due(self, t: float) -> bool:
        if t + _T_EPS < self._n * self.period_s:
            return False
        self._n = int(math.floor(t / self.period_s + _T_EPS)) + 1
        return True


class CoreRunner:
    """The stack's cores wired as the nodes wire them, stepped in one deterministic loop."""

    def __init__(self, nodes: List[ResolvedNode], *,
                 progress: Optional[Callable[[str], None]] = None,
                 progress_period_s: float = _DEFAULT_PROGRESS_PERIOD_S,
                 sim_time_limit_s: float = _DEFAULT_SIM_TIME_LIMIT_S,
                 wall_time_limit_s: Optional[float] = None) -> None:
        """Build every core from the resolved nodes' parameters (ConfigError/ParamError)."""
        self.params = build_parameters(nodes)
        missing = sorted(set(SCHEMAS) - set(self.params))
        if missing:
            raise ConfigError(f'the core backend needs node(s) {", ".join(missing)}')
        self.progress = progress or (lambda line: None)
        self.progress_period_s = progress_period_s
        self.sim_time_limit_s = sim_time_limit_s
        self.wall_time_limit_s = wall_time_limit_s
        self._build()

    # -- construction (mirrors each node's __init__) ---------------------------------------

    def _build(self) -> None:
        # The node modules (imported, never instantiated) hold the periods the wiring shares.
        from demining_control import (mission_manager_node, path_follower_node,
                                      safety_supervisor_node, tool_controller_node)

        p = self.params
        sp = p['simulator']
        scenario = None
        if sp.scenario_file:
            try:
                scenario = load_scenario(sp.scenario_file)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        sim_params = SimParams(**{f.name: getattr(sp, f.name)
                                  for f in dataclasses.fields(SimParams)})
        self.sim = Simulator(load_world(find_world(sp.world)), sim_params, scenario)
        self.clock_period_s = 1.0 / sp.clock_rate_hz

        lp = p['localization']
        if lp.area_file:
            o = load_area(lp.area_file).origin
            origin = (o.latitude_deg, o.longitude_deg, o.elevation_m)
        else:
            origin = (lp.origin_latitude_deg, lp.origin_longitude_deg, lp.origin_altitude_m)
        self.loc = LocalizationCore(lp, origin)

        self.gpr = GprProcessor(p['gpr_processor'])
        self.md = MdProcessor(p['md_processor'])
        self.gpr_poses = PoseBuffer(history_s=p['gpr_processor'].pose_history_s,
                                    max_extrapolation_s=p['gpr_processor']
                                    .max_pose_extrapolation_s)
        self.md_poses = PoseBuffer(history_s=p['md_processor'].pose_history_s,
                                   max_extrapolation_s=p['md_processor']
                                   .max_pose_extrapolation_s)

        fp = p['fusion']
        bounds = None
        if fp.area_file:
            area = load_area(fp.area_file)
            xs = [q[0] for q in area.field]
            ys = [q[1] for q in area.field]
            bounds = (min(xs), min(ys), max(xs), max(ys))
        self.fusion = FusionCore.from_bounds(fp, bounds)

        self.planner_area = load_area(p['coverage_planner'].area_file)
        self.plan = None
        self.plan_error = ''

        fc = p['path_follower']
        self.follower = PathFollower(fc)
        self.follower_field = load_area(fc.area_file).field if fc.area_file else None
        self.follower_period_s = path_follower_node._CONTROL_PERIOD_S
        self.follower_pose: Optional[VehicleState] = None
        self.follower_pose_time: Optional[float] = None
        self.follower_mission = ''
        self._follower_published = ''

        self.tools = ToolController(p['tool_controller'])
        self.tools_period_s = tool_controller_node._CONTROL_PERIOD_S
        self.tools_state_timeout_s = tool_controller_node._TOOL_STATE_TIMEOUT_S
        self.tools_state: Optional[ToolState] = None
        self.tools_state_time: Optional[float] = None
        self.tools_mission = ''

        sc = p['safety_supervisor']
        self.safety = SafetySupervisor(load_area(sc.area_file).field, sc)
        self.safety_period_s = safety_supervisor_node._CONTROL_PERIOD_S
        self.safety_inputs = SafetyInputs()
        self._safety_published = ''

        mc = p['mission_manager']
        self.mission_area = load_area(mc.area_file)
        self.mission = MissionManager(self.mission_area.field, self.mission_area.exclusion_zones,
                                      mc)
        self._mission_published = ''
        self.report_path = ''
        self.summary: Optional[dict] = None
        self._report_written = False

        self.timers = {
            'localization': _Timer(1.0 / lp.publish_rate_hz),
            'path_follower': _Timer(self.follower_period_s),
            'tool_controller': _Timer(self.tools_period_s),
            'safety_supervisor': _Timer(self.safety_period_s),
            'fusion': _Timer(fp.publish_period_s),
            'mission_manager': _Timer(mission_manager_node._UPDATE_PERIOD_S),
        }
        self.now = 0.0
        # What each node publishes from its __init__ (latched): states at time 0.
        self._mission_after_change()
        self._follower_publish_status()
        self._safety_publish_state()

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> CoreRunResult:
        """Run until the mission is complete or aborted (or a time limit); write the report."""
        start = time.monotonic()
        timed_out = False
        k = 0
        next_progress = self.progress_period_s
        while True:
            t = k * self.clock_period_s
            self.sim.advance_to(t)
            self.now = t
            for obj in self.sim.drain():
                self._dispatch(obj)
            self._fire_timers(t)
            if self.mission.state.value in FINAL_STATES:
                break
            if t + _T_EPS >= next_progress:
                next_progress += self.progress_period_s
                self.progress(f'[{time.monotonic() - start:6.1f} s wall] sim {t:7.1f} s  '
                              f'{self.mission.state.value:<9} '
                              f'{self.mission.coverage_percent():5.1f} % processed')
            if t >= self.sim_time_limit_s or (
                    self.wall_time_limit_s is not None
                    and time.monotonic() - start > self.wall_time_limit_s):
                timed_out = True
                self.progress(f'time limit reached at {t:.0f} s simulated')
                break
            k += 1
        return CoreRunResult(mission_state=self.mission.state.value,
                             run_dir=self.report_path or self.params['mission_manager']
                             .report_dir, summary=self.summary,
                             wall_time_s=time.monotonic() - start, sim_time_s=self.now,
                             timed_out=timed_out)

    def _dispatch(self, obj: Any) -> None:
        if isinstance(obj, OdomSample):
            self.loc.update_odometry(wire_time(obj.stamp), obj.v, obj.omega)
        elif isinstance(obj, ImuSample):
            self._on_imu(obj)
        elif isinstance(obj, GnssFix):
            cov = (obj.covariance[0], obj.covariance[1])
            self.loc.update_gnss(wire_time(obj.stamp), obj.latitude, obj.longitude,
                                 obj.altitude, cov, obj.status >= _STATUS_FIX)
        elif isinstance(obj, GprScan):
            self._on_scan(self.gpr, self.gpr_poses, wire_gpr_scan(obj), 'gpr')
        elif isinstance(obj, MdScan):
            self._on_scan(self.md, self.md_poses, wire_md_scan(obj), 'md')
        elif isinstance(obj, ToolState):
            self._on_tool_state(obj)
        elif isinstance(obj, SimEvent):
            self._on_event(obj)
        elif isinstance(obj, Heartbeat):
            self.safety_inputs.heartbeat_stamp = self.now
        # GroundTruth, ActorsSample: evaluation only; MessageFault: see DIFFERENCES.

    def _fire_timers(self, t: float) -> None:
        timers = self.timers
        if timers['localization'].due(t):
            self._localization_publish()
        if timers['path_follower'].due(t):
            self._follower_control()
        if timers['tool_controller'].due(t):
            self._tools_control()
        if timers['safety_supervisor'].due(t):
            self._safety_control()
        if timers['fusion'].due(t):
            self._fusion_publish()
        if timers['mission_manager'].due(t):
            self.mission.update(self.now)
            self._mission_after_change()

    # -- perception ------------------------------------------------------------------------

    def _on_imu(self, s: ImuSample) -> None:
        yaw = (None if s.orientation_variance[0] == _NOT_PROVIDED
               else _yaw_from_xyzw(*s.orientation))
        omega = None if s.angular_velocity_variance == _NOT_PROVIDED else s.angular_velocity[2]
        self.loc.update_imu(wire_time(s.stamp), yaw, omega)

    def _on_scan(self, core: Any, poses: Any, scan: Any, source: str) -> None:
        dets = core.process(scan, poses)
        if dets:
            self.fusion.add(wire_detections(dets, source), scan.stamp)

    def _localization_publish(self) -> None:
        now = self.now
        pred = self.loc.predicted(now)
        state = self.loc.state(now)
        if pred is None or state is None:
            return
        cov = self.loc.pose_covariance(pred[1])
        pose = VehicleState(stamp=wire_time(state.stamp), x=float(state.x), y=float(state.y),
                            yaw=wire_yaw(state.yaw), v=float(state.v),
                            omega=float(state.omega), covariance_xy=max(cov[0], cov[7]))
        if not _finite(pose.x, pose.y, pose.yaw, pose.v, pose.omega):
            return     # every consumer's decoder drops it
        self.gpr_poses.add(dataclasses.replace(pose))
        self.md_poses.add(dataclasses.replace(pose))
        self._planner_on_pose(pose)
        self.follower_pose, self.follower_pose_time = dataclasses.replace(pose), now
        self.safety_inputs.pose = dataclasses.replace(pose)
        self.safety_inputs.pose_stamp = now
        self.mission.on_pose(dataclasses.replace(pose, stamp=now))

    def _fusion_publish(self) -> None:
        self.fusion.update(self.now)
        self.mission.on_detections(wire_detections(self.fusion.fused(), 'fused'))

    # -- control ---------------------------------------------------------------------------

    def _planner_on_pose(self, pose: VehicleState) -> None:
        if self.plan is not None or self.plan_error:
            return
        cfg = self.params['coverage_planner']
        try:
            self.plan = plan_coverage(self.planner_area.field,
                                      self.planner_area.exclusion_zones, (pose.x, pose.y), cfg)
        except PlanningError as exc:
            self.plan_error = str(exc)
            self.progress(f'cannot plan coverage: {exc}')
            return
        xy = np.asarray(self.plan.waypoints, dtype=float).reshape(-1, 2)
        # path_follower._on_path, then mission_manager._on_path
        try:
            fc = self.params['path_follower']
            work = (classify_work(xy, self.follower_field, fc.work_reach_m)
                    if self.follower_field is not None else None)
            self.follower.set_path(xy.copy(), work)
        except ValueError:
            pass
        else:
            self._follower_publish_status()
        self.mission.on_path(xy.copy(), self.now)
        self._mission_after_change()

    def _follower_control(self) -> None:
        now = self.now
        cmd = Twist2D()
        fresh = self.follower_pose is not None and self.follower_pose_time is not None and \
            now - self.follower_pose_time <= self.params['path_follower'].pose_timeout_s
        if self.follower_mission == _CLEARING and fresh:
            cmd = self.follower.update(self.follower_pose, self.follower_period_s)
        self.safety_inputs.cmd = Twist2D(float(cmd.v), float(cmd.omega))
        self.safety_inputs.cmd_stamp = now
        self._follower_publish_status()

    def _follower_publish_status(self) -> None:
        status = self.follower.status.value
        if status != self._follower_published:
            self._follower_published = status
            self.mission.on_follower_status(status, self.now)
            self._mission_after_change()

    def _tools_control(self) -> None:
        now = self.now
        ts = self.tools_state
        if self.tools_state_time is None or now - self.tools_state_time > \
                self.tools_state_timeout_s:
            ts = None
        cmd = self.tools.update(None, ts, self.tools_mission == _CLEARING, self.tools_period_s)
        vals = (float(cmd.flail_speed), float(cmd.tiller_speed), float(cmd.depth))
        if _finite(*vals):     # the supervisor's decoder drops a non-finite command
            self.safety_inputs.tool_cmd = ToolCommand(*vals)
            self.safety_inputs.tool_cmd_stamp = now

    def _on_tool_state(self, raw: ToolState) -> None:
        ts = wire_tool_state(raw)
        if ts is None:
            return
        now = self.now
        self.tools_state, self.tools_state_time = dataclasses.replace(ts), now
        self.safety_inputs.tool_state = dataclasses.replace(ts)
        self.safety_inputs.tool_state_stamp = now
        self.mission.on_tool_state(dataclasses.replace(ts), now)

    def _on_event(self, raw: SimEvent) -> None:
        ev = wire_event(raw)
        if ev is None:
            return
        if self.safety.on_event(dataclasses.replace(ev), self.now):
            self._safety_control()      # act at once, not at the next tick
        self.mission.on_event(ev)

    def _safety_control(self) -> None:
        now = self.now
        _, cmd, tool = self.safety.update(self.safety_inputs, now)
        self.sim.set_command(Twist2D(float(cmd.v), float(cmd.omega)))
        self.sim.set_tool_command(ToolCommand(float(tool.flail_speed),
                                              float(tool.tiller_speed), float(tool.depth)))
        self._safety_publish_state()

    def _safety_publish_state(self) -> None:
        state = self.safety.state.value
        if state != self._safety_published:
            self._safety_published = state
            self.mission.on_safety_state(state, self.now, self.safety.reason)
            self._mission_after_change()

    # -- mission ---------------------------------------------------------------------------

    def _mission_after_change(self) -> None:
        state = self.mission.state.value
        if state == self._mission_published:
            return
        self._mission_published = state
        self.follower_mission = self.tools_mission = state
        self.safety_inputs.mission_clearing = state == _CLEARING
        if self.mission.state in TERMINAL and not self._report_written:
            self._report_written = True
            self._write_report()

    def _write_report(self) -> None:
        """As mission_manager_node._write_report: a failure is reported, never raised."""
        mc = self.params['mission_manager']
        run_dir = mc.report_dir or os.path.join(_RUNS_DIR, _dt.datetime.now(
            _dt.timezone.utc).strftime('%Y%m%dT%H%M%SZ'))
        try:
            record = MissionRecord(world_name=self.mission_area.name,
                                   origin=self.mission_area.origin,
                                   vehicle_profile=mc.vehicle_profile,
                                   **self.mission.record_kwargs())
            os.makedirs(run_dir, exist_ok=True)
            summary = write_report(record, run_dir)
        except Exception as exc:  # noqa: BLE001 - as the node: the run ends without a report
            self.progress(f'could not write the mission report to {run_dir}: '
                          f'{type(exc).__name__}: {exc}')
            return
        self.summary = summary
        self.report_path = os.path.abspath(run_dir)


def run_core(nodes: List[ResolvedNode], **kwargs: Any) -> CoreRunResult:
    """Build a :class:`CoreRunner` from resolved nodes and run it (``kwargs`` as its own)."""
    return CoreRunner(nodes, **kwargs).run()


__all__ = ['CoreRunResult', 'CoreRunner', 'DIFFERENCES', 'FINAL_STATES', 'SCHEMAS',
           'build_parameters', 'check_profile', 'run_core', 'schema_for', 'wire_detections',
           'wire_gpr_scan', 'wire_md_scan', 'wire_time', 'wire_yaw']
