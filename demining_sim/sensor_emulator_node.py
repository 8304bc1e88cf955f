"""Sensor emulator for the Gazebo backend (``sim:=gazebo``): what Gazebo cannot simulate.

Gazebo (through ros_gz_bridge, config/gz_bridge.yaml) drives the vehicle and publishes
/clock, /odom/tracks, /gnss/fix, /imu/data and the ground truth
/sim/ground_truth/odometry. This node loads the same world file, follows the ground-truth
pose and runs the embedded simulator's GPR, metal-detector, tool and ground-contact models
(:class:`demining_sim.simulator.Simulator`, unchanged) to publish /gpr/traces,
/metal_detector/coils, /tool/joint_states, /sim/events and the emulated operator heartbeat
exactly as the embedded simulator node does, so the rest of the stack cannot tell the two
backends apart (docs/gazebo.md).

How: :class:`TruthFollower` stands in for the embedded simulator's vehicle dynamics
(:class:`demining_sim.vehicle.Vehicle`): at every physics step its ``truth`` is the
ground-truth pose interpolated at the simulator's time. The simulator is advanced to the
stamp of every ground-truth message (never beyond the newest one: no extrapolation), so
sensor batches lag Gazebo by at most one ground-truth period (0.1 s at 10 Hz).

The core classes (:class:`TruthFollower`, :class:`SensorEmulator`) use no rclpy and are
tested without DDS; they live here because the backend is this one module, and can move to a
core module unchanged. The node class only declares parameters, converts messages and
publishes.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import Any, Deque, List, Optional, Tuple

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import JointState, PointCloud2
from std_msgs.msg import Header, String

from demining_bringup import codec, qos, topics
from demining_bringup.datatypes import GprScan, MdScan, SimEvent, ToolCommand, ToolState
from demining_bringup.errors import ConfigError
from demining_bringup.node_main import run_node
from demining_bringup.parameters import param
from demining_bringup.ros_params import declare_parameters
from demining_bringup.stack import find_world
from demining_sim.faults import load_scenario
from demining_sim.simulator import Heartbeat, MessageFault, Simulator, SimParams
from demining_sim.simulator_node import SimulatedCrash, garbage_message
from demining_sim.vehicle import Vehicle, VehicleTruth
from demining_sim.world import World, load_world

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


# --- ROS adapter ------------------------------------------------------------------------------

#: Throttle period of repeated warnings, s.
WARN_PERIOD_S = 5.0
#: /diagnostics rate in simulated time, Hz (as the simulator node).
DIAGNOSTICS_RATE_HZ = 1.0


class SensorEmulatorNode(Node):
    """ROS adapter of :class:`SensorEmulator` (node ``sensor_emulator``)."""

    def __init__(self, **kwargs) -> None:
        """Declare parameters, load the world, wire topics."""
        super().__init__('sensor_emulator', **kwargs)
        self.params = declare_parameters(self, EmulatorParams)

        world = load_world(find_world(self.params.world))
        scenario = None
        if self.params.scenario_file:
            try:
                scenario = load_scenario(self.params.scenario_file)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        sim_params = SimParams(**{f.name: getattr(self.params, f.name)
                                  for f in dataclasses.fields(SimParams)})
        self.core = SensorEmulator(world, sim_params, scenario)
        self._faults_done = 0
        self._diag_n = 1
        self._crashed = False

        self.pub_gpr = self.create_publisher(PointCloud2, topics.GPR_TRACES, qos.SENSOR)
        self.pub_md = self.create_publisher(PointCloud2, topics.MD_COILS, qos.SENSOR)
        self.pub_tool = self.create_publisher(JointState, topics.TOOL_JOINT_STATES, qos.SENSOR)
        self.pub_events = self.create_publisher(String, topics.SIM_EVENTS, qos.EVENTS)
        self.pub_heartbeat = self.create_publisher(Header, topics.OPERATOR_HEARTBEAT,
                                                   qos.COMMAND)
        self.pub_diag = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, qos.STATE)
        self._by_topic = {topics.GPR_TRACES: self.pub_gpr, topics.MD_COILS: self.pub_md,
                          topics.TOOL_JOINT_STATES: self.pub_tool,
                          topics.SIM_EVENTS: self.pub_events,
                          topics.OPERATOR_HEARTBEAT: self.pub_heartbeat}
        self.create_subscription(Odometry, topics.GROUND_TRUTH, self._on_truth, qos.SENSOR)
        self.create_subscription(JointState, topics.TOOL_COMMAND, self._on_tool_command,
                                 qos.COMMAND)
        self.get_logger().info(
            f'sensor emulator on world {world.name!r} ({len(world.items)} items), '
            f'waiting for {topics.GROUND_TRUTH}')

    def _on_tool_command(self, msg: JointState) -> None:
        try:
            cmd = codec.decode_tool_command(msg)
        except codec.DecodeError as exc:
            self.get_logger().warning(f'dropped tool command: {exc}',
                                      throttle_duration_sec=WARN_PERIOD_S)
            return
        self.core.set_tool_command(cmd)

    def _on_truth(self, msg: Odometry) -> None:
        if self._crashed:
            return
        p = msg.pose.pose.position
        q = msg.pose.pose.orientation
        roll, pitch, yaw = rpy_from_quaternion(q.x, q.y, q.z, q.w)
        pose = TruthPose(stamp=codec.stamp_to_sec(msg.header.stamp), x=p.x, y=p.y, z=p.z,
                         roll=roll, pitch=pitch, yaw=yaw, v=msg.twist.twist.linear.x,
                         omega=msg.twist.twist.angular.z)
        rejected = self.core.rejected_truth
        outputs = self.core.add_truth(pose)
        if self.core.rejected_truth != rejected:
            self.get_logger().warning('dropped a non-finite or out-of-order ground-truth pose',
                                      throttle_duration_sec=WARN_PERIOD_S)
        for obj in outputs:
            self._publish(obj)
        faults = self.core.message_faults
        while self._faults_done < len(faults):
            self._faults_done += 1
            self._message_fault(faults[self._faults_done - 1])
        if self.core.time + 1e-9 >= self._diag_n / DIAGNOSTICS_RATE_HZ:
            self._diag_n = int(self.core.time * DIAGNOSTICS_RATE_HZ) + 1
            self._publish_diagnostics()

    def _message_fault(self, f: MessageFault) -> None:
        """Enact a message-level fault like the simulator node, on the emulator's topics."""
        if f.kind == 'node_crash':
            self._crashed = True
            self.get_logger().error(f'simulated crash (node_crash fault) at t={f.stamp:.2f} s')
            raise SimulatedCrash(f'node_crash fault at t={f.stamp:.2f} s')
        pub = self._by_topic.get(f.topic)
        if pub is None:
            self.get_logger().warning(f'garbage_message on {f.topic}: published by Gazebo in '
                                      'this backend, not injected')
            return
        self.get_logger().warning(f'publishing a malformed message on {f.topic} '
                                  '(garbage_message fault)')
        pub.publish(garbage_message(pub.msg_type, f.stamp))

    def _publish_diagnostics(self) -> None:
        status = DiagnosticStatus(level=DiagnosticStatus.OK, name=self.get_name(),
                                  message='running', hardware_id='gazebo_sensor_emulator')
        status.values = [KeyValue(key='sim_time_s', value=f'{self.core.time:.1f}'),
                         KeyValue(key='rejected_truth', value=str(self.core.rejected_truth)),
                         KeyValue(key='dropped_outputs',
                                  value=str(self.core.sim.dropped_outputs)),
                         KeyValue(key='damaged', value=str(self.core.sim.damaged).lower())]
        self.pub_diag.publish(DiagnosticArray(header=codec.make_header(self.core.time, ''),
                                              status=[status]))

    def _publish(self, obj: Any) -> None:
        if isinstance(obj, GprScan):
            self.pub_gpr.publish(codec.encode_gpr_scan(obj))
        elif isinstance(obj, MdScan):
            self.pub_md.publish(codec.encode_md_scan(obj))
        elif isinstance(obj, ToolState):
            self.pub_tool.publish(codec.encode_tool_state(obj))
        elif isinstance(obj, SimEvent):
            self.pub_events.publish(codec.encode_event(obj))
        elif isinstance(obj, Heartbeat):
            self.pub_heartbeat.publish(codec.make_header(obj.stamp, ''))


def main(args=None) -> int:
    """Console script ``sensor_emulator_node``."""
    return run_node(SensorEmulatorNode, args)


__all__ = ['EmulatorParams', 'SensorEmulator', 'SensorEmulatorNode', 'TruthFollower',
           'TruthPose', 'main']
