"""simulator node: the embedded simulator on DDS, and the stack's clock.

Advances :class:`demining_sim.simulator.Simulator` from a wall-clock timer at
``real_time_factor``, publishes /clock (20 Hz simulated) and every topic docs/interfaces.md
gives the simulator (/odom/tracks, /gnss/fix, /imu/data, /gpr/traces,
/metal_detector/coils, /tool/joint_states, /sim/events, /sim/ground_truth/odometry,
/operator/heartbeat, /diagnostics), and feeds /cmd_vel and /tool/command to the core. It is
the clock, so it never runs on ``use_sim_time`` itself.

Message-level faults of the scenario are enacted here: ``garbage_message`` publishes a
malformed message on its topic, ``node_crash`` logs an error and leaves the spin with
:class:`SimulatedCrash`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Callable, Dict

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Quaternion, Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, JointState, NavSatFix, NavSatStatus, PointCloud2, PointField
from std_msgs.msg import Header, String

from demining_bringup import codec, qos, topics
from demining_bringup.datatypes import (GprScan, MdScan, SimEvent, ToolState, Twist2D,
                                        VehicleState)
from demining_bringup.errors import ConfigError
from demining_bringup.node_main import run_node
from demining_bringup.parameters import param
from demining_bringup.ros_params import declare_parameters
from demining_bringup.stack import find_world
from demining_sim.faults import load_scenario
from demining_sim.sensors.gnss import GnssFix
from demining_sim.sensors.imu import ImuSample
from demining_sim.sensors.odometry import OdomSample
from demining_sim.simulator import (ActorsSample, GroundTruth, Heartbeat, MessageFault,
                                    SimParams, Simulator)
from demining_sim.world import load_world

#: Wall-clock period of the stepping timer, s.
TICK_PERIOD_S = 0.01
#: /diagnostics rate in simulated time, Hz.
DIAGNOSTICS_RATE_HZ = 1.0
#: The simulation never runs more than this much wall time behind its target: when the core
#: cannot keep up with real_time_factor, the simulation slows down instead of piling up work.
MAX_BACKLOG_WALL_S = 0.1
#: Throttle period of repeated warnings, s.
WARN_PERIOD_S = 5.0
_EPS = 1e-9


class Lockstep:
    """Keeps simulated time from running away from a control loop that cannot keep up.

    On a loaded machine the nodes may process slower than ``real_time_factor``; without a
    bound the vehicle would drive on stale commands and the mission would be judged on the
    machine's load, not on the stack. Each pacing input marks the simulated time it has
    reached; the simulation may lead the slowest of them by ``max_lead_s``. Pacing starts with
    an input's first message and is suspended after ``timeout_s`` wall seconds without any
    progress, so a crashed node cannot freeze the clock (its watchdogs must see time pass).
    """

    def __init__(self, max_lead_s: float, timeout_s: float) -> None:
        """``max_lead_s`` 0 disables pacing."""
        self.max_lead_s = max_lead_s
        self.timeout_s = timeout_s
        self._marks: Dict[str, float] = {}
        self._progress_wall: Dict[str, float] = {}

    def mark(self, name: str, sim_t: float, wall_t: float) -> None:
        """Record that input ``name`` has reached simulated time ``sim_t``."""
        if sim_t > self._marks.get(name, -math.inf):
            self._marks[name] = sim_t
            self._progress_wall[name] = wall_t

    def limit(self, wall_t: float) -> float:
        """Return how far the simulation may advance now (inf when not pacing)."""
        if self.max_lead_s <= 0.0:
            return math.inf
        live = [t for name, t in self._marks.items()
                if wall_t - self._progress_wall[name] <= self.timeout_s]
        return min(live) + self.max_lead_s if live else math.inf


class SimulatedCrash(RuntimeError):
    """Raised by the node_crash fault to leave the executor's spin."""


@dataclasses.dataclass(frozen=True)
class SimNodeParams(SimParams):
    """The simulator's parameters plus the world and the fault scenario."""

    world: str = param('', 'World SDF file (path, or a name in demining_sim/worlds)',
                       read_only=True)
    scenario_file: str = param('', 'Fault-injection scenario YAML ("" for none)',
                               read_only=True)
    clock_rate_hz: float = param(
        10.0, '/clock rate in simulated time, Hz: the time resolution of every node on sim '
        'time (10 Hz suits a vehicle at 0.4 m/s; each tick wakes every node)', min=1.0,
        max=1000.0)
    lockstep_max_lead_s: float = param(
        0.3, 'Lockstep: simulated time may run at most this far ahead of the control loop '
        '(last /cmd_vel arrival, last /localization/odometry stamp); 0 disables', min=0.0,
        max=10.0)
    lockstep_timeout_s: float = param(
        2.0, 'Lockstep: wall seconds without control-loop progress after which the '
        'simulation runs on free (a crashed node must not freeze time)', min=0.1, max=60.0)


class SimulatorNode(Node):
    """ROS adapter of :class:`Simulator` (node ``simulator``)."""

    def __init__(self, **kwargs) -> None:
        """Declare parameters, load the world and scenario, wire topics and the timer."""
        super().__init__('simulator', **kwargs)
        if self.get_parameter('use_sim_time').value:
            # The simulator is the clock: on sim time its own timers would never fire.
            self.get_logger().warning('use_sim_time ignored: the simulator is the clock')
            self.set_parameters([Parameter('use_sim_time', Parameter.Type.BOOL, False)])
        self.params = declare_parameters(self, SimNodeParams)
        p = self.params
        world = load_world(find_world(p.world))
        scenario = None
        if p.scenario_file:
            try:
                scenario = load_scenario(p.scenario_file)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        sim_params = SimParams(**{f.name: getattr(p, f.name)
                                  for f in dataclasses.fields(SimParams)})
        self.sim = Simulator(world, sim_params, scenario)
        self.rtf = p.real_time_factor

        pub = self.create_publisher
        self.pub_clock = pub(Clock, topics.CLOCK, qos.CLOCK)
        self.pub_odom = pub(Odometry, topics.ODOM_TRACKS, qos.SENSOR)
        self.pub_gnss = pub(NavSatFix, topics.GNSS_FIX, qos.SENSOR)
        self.pub_imu = pub(Imu, topics.IMU, qos.SENSOR)
        self.pub_gpr = pub(PointCloud2, topics.GPR_TRACES, qos.SENSOR)
        self.pub_md = pub(PointCloud2, topics.MD_COILS, qos.SENSOR)
        self.pub_tool = pub(JointState, topics.TOOL_JOINT_STATES, qos.SENSOR)
        self.pub_events = pub(String, topics.SIM_EVENTS, qos.EVENTS)
        self.pub_truth = pub(Odometry, topics.GROUND_TRUTH, qos.SENSOR)
        self.pub_heartbeat = pub(Header, topics.OPERATOR_HEARTBEAT, qos.COMMAND)
        self.pub_diag = pub(DiagnosticArray, topics.DIAGNOSTICS, qos.STATE)
        self._by_topic = {topics.ODOM_TRACKS: self.pub_odom, topics.GNSS_FIX: self.pub_gnss,
                          topics.IMU: self.pub_imu, topics.GPR_TRACES: self.pub_gpr,
                          topics.MD_COILS: self.pub_md,
                          topics.TOOL_JOINT_STATES: self.pub_tool,
                          topics.SIM_EVENTS: self.pub_events,
                          topics.GROUND_TRUTH: self.pub_truth,
                          topics.OPERATOR_HEARTBEAT: self.pub_heartbeat}
        self._handlers: Dict[type, Callable[[Any], None]] = {
            OdomSample: self._pub_odom, GnssFix: self._pub_gnss, ImuSample: self._pub_imu,
            GprScan: lambda s: self.pub_gpr.publish(codec.encode_gpr_scan(s)),
            MdScan: lambda s: self.pub_md.publish(codec.encode_md_scan(s)),
            ToolState: lambda s: self.pub_tool.publish(codec.encode_tool_state(s)),
            SimEvent: self._pub_event, GroundTruth: self._pub_truth,
            Heartbeat: lambda h: self.pub_heartbeat.publish(codec.make_header(h.stamp, '')),
            ActorsSample: lambda a: None,          # ground truth kept in the core only
            MessageFault: self._message_fault}

        self.create_subscription(Twist, topics.CMD_VEL, self._on_cmd_vel, qos.COMMAND)
        self.create_subscription(JointState, topics.TOOL_COMMAND, self._on_tool_command,
                                 qos.COMMAND)
        self.lockstep = Lockstep(p.lockstep_max_lead_s, p.lockstep_timeout_s)
        self.create_subscription(Odometry, topics.LOCALIZATION, self._on_localization,
                                 qos.STATE)
        self._clock_n = 0
        self._diag_n = 1
        self._target = 0.0
        self._wall_start = self._last_wall = time.monotonic()
        self._crashed = False
        self.create_timer(TICK_PERIOD_S, self._on_tick)
        self.get_logger().info(
            f'simulating {world.name!r} ({len(world.items)} items, '
            f'{len(world.obstacles)} obstacles) at {self.rtf:g}x real time, seed {p.seed}'
            + (f', scenario {p.scenario_file}' if p.scenario_file else ''))

    # --- inputs ---------------------------------------------------------------------------

    def _on_localization(self, msg: Odometry) -> None:
        self.lockstep.mark('localization', codec.stamp_to_sec(msg.header.stamp),
                           time.monotonic())

    def _on_cmd_vel(self, msg: Twist) -> None:
        # Twist has no stamp: its arrival time on the simulated clock is the mark.
        self.lockstep.mark('cmd_vel', self.sim.t, time.monotonic())
        v, w = msg.linear.x, msg.angular.z
        if not (math.isfinite(v) and math.isfinite(w)):
            self.get_logger().warning('ignored a non-finite /cmd_vel',
                                      throttle_duration_sec=WARN_PERIOD_S)
            return
        self.sim.set_command(Twist2D(v, w))

    def _on_tool_command(self, msg: JointState) -> None:
        try:
            cmd = codec.decode_tool_command(msg)
        except codec.DecodeError as exc:
            self.get_logger().warning(f'ignored a tool command: {exc}',
                                      throttle_duration_sec=WARN_PERIOD_S)
            return
        self.sim.set_tool_command(cmd)

    # --- stepping -------------------------------------------------------------------------

    def _on_tick(self) -> None:
        if self._crashed:
            return
        now = time.monotonic()
        self._target += (now - self._last_wall) * self.rtf
        self._last_wall = now
        self._target = min(self._target, self.sim.t + MAX_BACKLOG_WALL_S * self.rtf,
                           self.lockstep.limit(now))
        sim = self.sim
        while True:
            t_clock = self._clock_n / self.params.clock_rate_hz
            if t_clock > self._target + _EPS:
                break
            sim.advance_to(t_clock)
            self._publish_all()
            self.pub_clock.publish(Clock(clock=codec.sec_to_stamp(t_clock)))
            self._clock_n += 1
            if t_clock + _EPS >= self._diag_n / DIAGNOSTICS_RATE_HZ:
                self._diag_n += 1
                self._publish_diagnostics()
        sim.advance_to(self._target)
        self._publish_all()

    def _publish_all(self) -> None:
        for obj in self.sim.drain():
            handler = self._handlers.get(type(obj))
            if handler is not None:
                handler(obj)

    # --- conversions ----------------------------------------------------------------------

    def _pub_odom(self, s: OdomSample) -> None:
        cov = [0.0] * 36
        cov[0] = cov[7] = s.variance_xy
        cov[35] = s.variance_yaw
        state = VehicleState(stamp=s.stamp, x=s.x, y=s.y, yaw=s.yaw, v=s.v, omega=s.omega)
        self.pub_odom.publish(codec.state_to_odometry(state, topics.ODOM_FRAME,
                                                      topics.BASE_FRAME, cov))

    def _pub_gnss(self, f: GnssFix) -> None:
        msg = NavSatFix()
        msg.header = codec.make_header(f.stamp, topics.GNSS_FRAME)
        msg.status.status = f.status
        msg.status.service = NavSatStatus.SERVICE_GPS
        msg.latitude, msg.longitude, msg.altitude = f.latitude, f.longitude, f.altitude
        msg.position_covariance = [f.covariance[0], 0.0, 0.0, 0.0, f.covariance[1], 0.0,
                                   0.0, 0.0, f.covariance[2]]
        msg.position_covariance_type = NavSatFix.COVARIANCE_TYPE_DIAGONAL_KNOWN
        self.pub_gnss.publish(msg)

    def _pub_imu(self, s: ImuSample) -> None:
        msg = Imu()
        msg.header = codec.make_header(s.stamp, topics.IMU_FRAME)
        qx, qy, qz, qw = s.orientation
        msg.orientation = Quaternion(x=qx, y=qy, z=qz, w=qw)
        ov = s.orientation_variance
        msg.orientation_covariance = [ov[0], 0.0, 0.0, 0.0, ov[1], 0.0, 0.0, 0.0, ov[2]]
        av = msg.angular_velocity
        av.x, av.y, av.z = s.angular_velocity
        g = s.angular_velocity_variance
        msg.angular_velocity_covariance = [g, 0.0, 0.0, 0.0, g, 0.0, 0.0, 0.0, g]
        la = msg.linear_acceleration
        la.x, la.y, la.z = s.linear_acceleration
        a = s.linear_acceleration_variance
        msg.linear_acceleration_covariance = [a, 0.0, 0.0, 0.0, a, 0.0, 0.0, 0.0, a]
        self.pub_imu.publish(msg)

    def _pub_event(self, ev: SimEvent) -> None:
        self.pub_events.publish(codec.encode_event(ev))
        if ev.kind in ('at_detonation', 'damage', 'collision', 'fault'):
            self.get_logger().info(f'event {ev.kind} {ev.item_id} at ({ev.x:.1f}, {ev.y:.1f}) '
                                   f'{ev.detail}')

    def _pub_truth(self, g: GroundTruth) -> None:
        state = VehicleState(stamp=g.stamp, x=g.x, y=g.y, yaw=g.yaw, v=g.v, omega=g.omega)
        msg = codec.state_to_odometry(state, topics.MAP_FRAME, topics.BASE_FRAME)
        msg.pose.pose.position.z = g.z
        msg.pose.pose.orientation = codec.quaternion_from_rpy(g.roll, g.pitch, g.yaw)
        self.pub_truth.publish(msg)

    def _publish_diagnostics(self) -> None:
        wall = max(time.monotonic() - self._wall_start, 1e-9)
        status = DiagnosticStatus(level=DiagnosticStatus.OK, name=self.get_name(),
                                  message='running', hardware_id='embedded_simulator')
        status.values = [KeyValue(key='sim_time_s', value=f'{self.sim.t:.1f}'),
                         KeyValue(key='achieved_rtf', value=f'{self.sim.t / wall:.1f}'),
                         KeyValue(key='target_rtf', value=f'{self.rtf:g}'),
                         KeyValue(key='dropped_outputs', value=str(self.sim.dropped_outputs)),
                         KeyValue(key='damaged', value=str(self.sim.damaged).lower())]
        msg = DiagnosticArray(header=codec.make_header(self.sim.t, ''), status=[status])
        self.pub_diag.publish(msg)

    # --- message-level faults -------------------------------------------------------------

    def _message_fault(self, f: MessageFault) -> None:
        if f.kind == 'node_crash':
            self._crashed = True
            self.get_logger().error(f'simulated crash (node_crash fault) at t={f.stamp:.2f} s')
            raise SimulatedCrash(f'node_crash fault at t={f.stamp:.2f} s')
        if f.kind == 'garbage_message':
            pub = self._by_topic.get(f.topic)
            if pub is None:
                return
            self.get_logger().warning(f'publishing a malformed message on {f.topic} '
                                      '(garbage_message fault)')
            pub.publish(garbage_message(pub.msg_type, f.stamp))


def garbage_message(msg_type: type, stamp: float) -> Any:
    """A message of ``msg_type`` that violates its documented layout or values."""
    nan = float('nan')
    header = codec.make_header(stamp, 'garbage')
    if msg_type is PointCloud2:
        # Declares 5 points of 7 bytes with one bogus field, carries 3 bytes.
        return PointCloud2(header=header, height=1, width=5, point_step=7, row_step=35,
                           fields=[PointField(name='junk', offset=0,
                                              datatype=PointField.FLOAT32, count=1)],
                           is_bigendian=False, is_dense=False, data=b'\x01\x02\x03')
    if msg_type is JointState:
        return JointState(header=header, name=['flail_rotor', 'tool_depth', 'x'],
                          velocity=[nan], position=[1.0, 2.0], effort=[])
    if msg_type is String:
        return String(data='{"kind": "neutralised", "stamp": ')
    if msg_type is Odometry:
        msg = Odometry(header=header)
        msg.pose.pose.position.x = nan
        msg.pose.pose.orientation = Quaternion(x=0.0, y=0.0, z=0.0, w=0.0)
        return msg
    if msg_type is NavSatFix:
        return NavSatFix(header=header, latitude=nan, longitude=512.0, altitude=nan)
    if msg_type is Imu:
        msg = Imu(header=header)
        msg.orientation = Quaternion(x=nan, y=0.0, z=0.0, w=0.0)
        return msg
    if msg_type is Header:
        return Header(stamp=codec.sec_to_stamp(0.0), frame_id='garbage')
    return msg_type()


def main(args=None) -> int:
    """Console script ``simulator_node``."""
    return run_node(SimulatorNode, args)


__all__ = ['SimNodeParams', 'SimulatedCrash', 'SimulatorNode', 'garbage_message', 'main']
