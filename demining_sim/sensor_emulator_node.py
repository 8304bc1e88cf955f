"""Sensor emulator for the Gazebo backend (``sim:=gazebo``): what Gazebo cannot simulate.

Gazebo (through ros_gz_bridge, config/gz_bridge.yaml) drives the vehicle and publishes
/clock, /odom/tracks, /gnss/fix, /imu/data and the ground truth
/sim/ground_truth/odometry. This node loads the same world file, follows the ground-truth
pose and runs the embedded simulator's GPR, metal-detector, tool and ground-contact models
(:class:`demining_sim.simulator.Simulator`, unchanged) to publish /gpr/traces,
/metal_detector/coils, /tool/joint_states, /sim/events, /people/detections (the people
sensor, from the scenario's actors) and the emulated operator heartbeat exactly as the
embedded simulator node does, so the rest of the stack cannot tell the two backends apart
(docs/gazebo.md).

How: :class:`TruthFollower` stands in for the embedded simulator's vehicle dynamics
(:class:`demining_sim.vehicle.Vehicle`): at every physics step its ``truth`` is the
ground-truth pose interpolated at the simulator's time. The simulator is advanced to the
stamp of every ground-truth message (never beyond the newest one: no extrapolation), so
sensor batches lag Gazebo by at most one ground-truth period (0.1 s at 10 Hz).

The core classes (:class:`TruthFollower`, :class:`SensorEmulator`) live here because the
backend is this one module, and can move to a core module unchanged;
:class:`SensorEmulatorComponent` is the node's behaviour, hosted as a lifecycle node by
:mod:`demining_bringup.hosts.ros` (``main()`` imports it only when it runs: no rclpy here).
Message-level faults are enacted as the simulator does, on this node's own topics only:
``garbage_message`` on a topic Gazebo publishes is logged and not injected.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import Any, Deque, Dict, List, Optional, Tuple, Union

import numpy as np

from demining_bringup.contract import topics
from demining_bringup.contract.component import Component, HostHandle, Port, Status
from demining_bringup.contract.datatypes import (GprScan, GroundTruth, Heartbeat, MdScan,
                                                 SimEvent, ToolCommand, ToolState,
                                                 VehicleState)
from demining_bringup.contract.parameters import param
from demining_bringup.contract.states import DiagLevel
from demining_bringup.contract.world import World
from demining_sim.faults import FaultKind
from demining_sim.simulator import MessageFault, Simulator, SimParams
from demining_sim.simulator_node import (PORT_OF_OUTPUT, enact_message_fault,
                                         load_world_and_scenario, log_notable_event,
                                         sim_params_of)
from demining_sim.vehicle import Vehicle, VehicleTruth

#: Ground-truth samples kept for interpolation (10 Hz truth: 5 s of history).
TRUTH_BUFFER_SIZE = 50
#: Output kinds the emulator publishes; the others (odometry, IMU, GNSS, ground truth,
#: actors) come from Gazebo and are dropped.
PUBLISHED_OUTPUTS = (GprScan, MdScan, ToolState, SimEvent, Heartbeat)
#: Tolerance of float time comparisons, s.
_T_EPS = 1e-9


@dataclasses.dataclass(frozen=True)
class TruthPose:
    """One ground-truth sample in ``map`` (from /sim/ground_truth/odometry)."""

    stamp: float
    x: float
    y: float
    z: float = 0.0
    roll: float = 0.0
    pitch: float = 0.0
    yaw: float = 0.0
    v: float = 0.0
    omega: float = 0.0

    def is_finite(self) -> bool:
        """True when every field is a finite number."""
        return all(math.isfinite(getattr(self, f.name)) for f in dataclasses.fields(self))


class TruthFollower:
    """Stands in for :class:`demining_sim.vehicle.Vehicle`: the truth follows fed poses.

    The simulator calls :meth:`step` once per physics step after advancing its clock; the
    follower then sets :attr:`truth` to the fed poses interpolated at that time (held at
    the oldest/newest sample outside their span). Obstacle contacts are detected with the
    embedded vehicle's own footprint test, so a Gazebo run reports ``collision`` events like
    the embedded one (Gazebo's physics, not this class, keeps the hull out of obstacles).
    """

    def __init__(self, clock, params: SimParams, world: World,
                 rng: Optional[np.random.Generator] = None) -> None:
        """Follow poses on ``clock()`` (the simulator's time, s) in ``world``."""
        self._clock = clock
        self._gauge = params.track_gauge_m
        self._buf: Deque[TruthPose] = collections.deque(maxlen=TRUTH_BUFFER_SIZE)
        sx, sy, syaw = world.vehicle_start
        self.truth = VehicleTruth(x=float(sx), y=float(sy), yaw=float(syaw))
        self.last_collision: Optional[str] = None
        # The embedded vehicle, used only for its footprint-vs-obstacle test.
        self._probe = Vehicle(params, world.terrain, world.obstacles, world.vehicle_start,
                              rng if rng is not None else np.random.default_rng(0))
        self._names = [o.name for o in world.obstacles]
        self._contact: Optional[int] = None

    @property
    def newest_stamp(self) -> float:
        """Stamp of the newest fed pose (-inf before the first)."""
        return self._buf[-1].stamp if self._buf else -math.inf

    def feed(self, pose: TruthPose) -> bool:
        """Add a ground-truth sample; return False (and ignore it) if it is unusable.

        Non-finite samples and samples older than the newest one are rejected.
        """
        if not pose.is_finite() or pose.stamp < self.newest_stamp:
            return False
        if self._buf and pose.stamp == self.newest_stamp:
            self._buf.pop()
        self._buf.append(pose)
        return True

    def _interp(self, t: float) -> Tuple[TruthPose, float]:
        """Pose at ``t`` and the forward acceleration (finite difference of the samples)."""
        buf = self._buf
        if t <= buf[0].stamp or len(buf) == 1:
            return buf[0], 0.0
        if t >= buf[-1].stamp:
            a, b = buf[-2], buf[-1]
            return b, (b.v - a.v) / max(b.stamp - a.stamp, _T_EPS)
        # the simulator's time is almost always in the newest interval: search backwards
        hi = next(i for i in range(len(buf) - 1, 0, -1) if buf[i - 1].stamp < t)
        a, b = buf[hi - 1], buf[hi]
        span = b.stamp - a.stamp
        f = (t - a.stamp) / span
        dyaw = math.atan2(math.sin(b.yaw - a.yaw), math.cos(b.yaw - a.yaw))
        yaw = a.yaw + f * dyaw
        pose = TruthPose(stamp=t, x=a.x + f * (b.x - a.x), y=a.y + f * (b.y - a.y),
                         z=a.z + f * (b.z - a.z), roll=a.roll + f * (b.roll - a.roll),
                         pitch=a.pitch + f * (b.pitch - a.pitch),
                         yaw=math.atan2(math.sin(yaw), math.cos(yaw)),
                         v=a.v + f * (b.v - a.v), omega=a.omega + f * (b.omega - a.omega))
        return pose, (b.v - a.v) / span

    def step(self, v_cmd: float, w_cmd: float, dt: float) -> Optional[str]:
        """Set the truth to the pose at the simulator's time; return a new contact's name.

        ``v_cmd``/``w_cmd`` are ignored: Gazebo executes the commands.
        """
        if not self._buf:
            return None
        pose, accel = self._interp(self._clock())
        t = self.truth
        t.x, t.y, t.z = pose.x, pose.y, pose.z
        t.roll, t.pitch, t.yaw = pose.roll, pose.pitch, pose.yaw
        t.v, t.omega, t.accel = pose.v, pose.omega, accel
        half = self._gauge / 2.0
        t.track_left = pose.v - pose.omega * half
        t.track_right = pose.v + pose.omega * half
        # The embedded vehicle's footprint test (it looks obstacles up around its own truth).
        probe = self._probe.truth
        probe.x, probe.y, probe.yaw = pose.x, pose.y, pose.yaw
        hit = self._probe.hits(pose.x, pose.y, pose.yaw)
        t.blocked = hit is not None
        if hit is None:
            self._contact = None
            return None
        if hit == self._contact:
            return None
        self._contact = hit
        self.last_collision = self._names[hit]
        return self.last_collision

    def stop(self) -> None:
        """Nothing to stop: Gazebo owns the motion (Vehicle interface)."""


class SensorEmulator:
    """The embedded simulator with its vehicle replaced by a :class:`TruthFollower`."""

    def __init__(self, world: World, params: Optional[SimParams] = None,
                 scenario=None) -> None:
        """Build the simulator for ``world`` (same parameters as the embedded backend)."""
        self.params = params or SimParams()
        self.sim = Simulator(world, self.params, scenario)
        self.follower = TruthFollower(lambda: self.sim.t, self.params, world)
        self.sim.vehicle = self.follower
        self.rejected_truth = 0
        self.message_faults: List[MessageFault] = []
        self._first_stamp: Optional[float] = None

    @property
    def time(self) -> float:
        """The simulator's time, s."""
        return self.sim.t

    def set_tool_command(self, cmd: ToolCommand) -> None:
        """Forward a tool command (non-finite values are ignored by the simulator)."""
        self.sim.set_tool_command(cmd)

    def add_truth(self, pose: TruthPose) -> List[Any]:
        """Feed one ground-truth sample, advance to its stamp, return the outputs to publish.

        Outputs are :class:`GprScan`, :class:`MdScan`, :class:`ToolState`,
        :class:`SimEvent` and :class:`Heartbeat`, oldest first. A rejected sample (NaN,
        out of order) returns an empty list and counts in :attr:`rejected_truth`.
        """
        if not self.follower.feed(pose):
            self.rejected_truth += 1
            return []
        if self._first_stamp is None:
            self._first_stamp = pose.stamp
        self.sim.advance_to(pose.stamp)
        out = []
        for obj in self.sim.drain():
            if isinstance(obj, PUBLISHED_OUTPUTS):
                # Started late (Gazebo already running): the simulator catches up from t=0
                # with the vehicle held at its first pose; those samples are not published.
                if isinstance(obj, SimEvent) or obj.stamp >= self._first_stamp - _T_EPS:
                    out.append(obj)
            elif isinstance(obj, MessageFault):
                self.message_faults.append(obj)
        return out


@dataclasses.dataclass(frozen=True)
class EmulatorParams(SimParams):
    """Parameters of the sensor emulator: the simulator's, plus the world and scenario."""

    world: str = param('', 'World SDF file (path, or a name in demining_sim/worlds); the '
                       'same file gz sim runs', read_only=True)
    scenario_file: str = param('', 'Fault-injection scenario YAML ("" for none)',
                               read_only=True)


def rpy_from_quaternion(x: float, y: float, z: float, w: float) -> Tuple[float, float, float]:
    """Roll, pitch, yaw (rad, fixed axes XYZ) of a unit quaternion."""
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    sinp = max(-1.0, min(1.0, 2.0 * (w * y - z * x)))
    pitch = math.asin(sinp)
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return roll, pitch, yaw


# --- the component --------------------------------------------------------------------------

#: Throttle period of repeated warnings, s.
WARN_PERIOD_S = 5.0


def truth_pose(value: Union[GroundTruth, VehicleState]) -> TruthPose:
    """The follower's sample of a decoded /sim/ground_truth/odometry message.

    A :class:`GroundTruth` carries the full attitude; a :class:`VehicleState` (the planar
    decode) leaves z, roll and pitch at 0: exact on flat ground only.
    """
    if isinstance(value, GroundTruth):
        return TruthPose(stamp=value.stamp, x=value.x, y=value.y, z=value.z, roll=value.roll,
                         pitch=value.pitch, yaw=value.yaw, v=value.v, omega=value.omega)
    return TruthPose(stamp=value.stamp, x=value.x, y=value.y, yaw=value.yaw, v=value.v,
                     omega=value.omega)


class SensorEmulatorComponent(Component):
    """The Gazebo backend's sensor emulator (node ``sensor_emulator``).

    Not a clock source (Gazebo publishes /clock): it advances to the stamp of every
    ground-truth sample it is given and emits what the emulated sensors produced meanwhile.
    """

    name = 'sensor_emulator'
    params = EmulatorParams
    inputs = {'truth': Port(topics.GROUND_TRUTH),
              'tool_command': Port(topics.TOOL_COMMAND)}
    outputs = {'gpr': Port(topics.GPR_TRACES),
               'md': Port(topics.MD_COILS),
               'tool_state': Port(topics.TOOL_JOINT_STATES),
               'events': Port(topics.SIM_EVENTS),
               'heartbeat': Port(topics.OPERATOR_HEARTBEAT),
               'people': Port(topics.PEOPLE_DETECTIONS)}

    def __init__(self, host: HostHandle) -> None:
        """Bind to the host; the emulator is built by :meth:`on_configure`."""
        super().__init__(host)
        self.core: Optional[SensorEmulator] = None
        self._faults_done = 0
        self._crashed = False

    def on_configure(self, params: EmulatorParams) -> None:
        """Load the world (the one gz sim runs) and the scenario, build the emulator."""
        world, scenario = load_world_and_scenario(params.world, params.scenario_file)
        self.core = SensorEmulator(world, sim_params_of(params), scenario)
        self._faults_done = 0
        self._crashed = False
        self.log.info(f'sensor emulator on world {world.name!r} ({len(world.items)} items), '
                      f'waiting for {topics.GROUND_TRUTH}')

    def on_cleanup(self) -> None:
        """Drop the emulator."""
        self.core = None

    def on_tool_command(self, cmd: ToolCommand, now: float) -> None:
        """Feed a tool command (the core ignores non-finite values)."""
        self._core().set_tool_command(cmd)

    def on_truth(self, value: Union[GroundTruth, VehicleState], now: float) -> None:
        """Follow one ground-truth sample and emit what the sensors produced up to its stamp."""
        core = self._core()
        if self._crashed:
            return
        rejected = core.rejected_truth
        outputs = core.add_truth(truth_pose(value))
        if core.rejected_truth != rejected:
            self.log.warning('dropped a non-finite or out-of-order ground-truth pose',
                             throttle_s=WARN_PERIOD_S)
        for obj in outputs:
            port = PORT_OF_OUTPUT.get(type(obj))
            if port in self.outputs:
                self.emit(port, obj)
                if isinstance(obj, SimEvent):
                    log_notable_event(self, obj)
        faults = core.message_faults
        while self._faults_done < len(faults):
            fault = faults[self._faults_done]
            self._faults_done += 1
            if fault.kind == FaultKind.NODE_CRASH.value:
                self._crashed = True
            enact_message_fault(self, fault)

    def diagnostics(self, now: float) -> Optional[Status]:
        """Simulated time, rejected truth samples, lost outputs, damage."""
        core = self.core
        if core is None:
            return None
        values: Dict[str, object] = {'sim_time_s': f'{core.time:.1f}',
                                     'rejected_truth': str(core.rejected_truth),
                                     'dropped_outputs': str(core.sim.dropped_outputs),
                                     'damaged': str(core.sim.damaged).lower()}
        return DiagLevel.OK, 'running', values

    def _core(self) -> SensorEmulator:
        if self.core is None:
            raise RuntimeError('sensor emulator used before configuration')
        return self.core


def main(args: Optional[List[str]] = None) -> int:
    """Console script ``sensor_emulator_node``."""
    from demining_bringup.hosts.ros import run_component
    return run_component(SensorEmulatorComponent, args)


__all__ = ['EmulatorParams', 'SensorEmulator', 'SensorEmulatorComponent', 'TruthFollower',
           'TruthPose', 'main', 'rpy_from_quaternion', 'truth_pose']
