"""One binding per topic: ROS message type, named QoS, encoder and decoder (docs/interfaces.md).

A component port names a topic; the hosts look the topic up here. The ROS host publishes
``encode(value, now)`` and subscribes with ``decode(msg)``; the deterministic host passes every
value through the same ``encode`` and ``decode`` (no DDS), so both hosts hand a component the
same numbers (float32 point clouds, nanosecond stamps, yaw through a quaternion) and drop the
same malformed input. Publisher and subscribers of a topic use the one QoS named here, so no
pair in the stack can be incompatible.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Pose, PoseArray, Quaternion, Twist
from nav_msgs.msg import OccupancyGrid, Odometry, Path
from rclpy.qos import QoSProfile
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, JointState, NavSatFix, NavSatStatus, PointCloud2, PointField
from std_msgs.msg import Bool, ColorRGBA, Float32, Header, String
from visualization_msgs.msg import Marker, MarkerArray

from demining_bringup.contract import cdr, codec, qos, topics
from demining_bringup.contract.cdr import RawPath
from demining_bringup.contract.codec import DecodeError
from demining_bringup.contract.geo import yaw_from_xyzw
from demining_bringup.contract.datatypes import (Detection, DetectionKind, Detections, Garbage,
                                                 GnssFix, GprScan, Grid, GroundTruth,
                                                 Heartbeat, ImuSample, MdScan, OdomSample,
                                                 PeopleZone, PlanarPoints, PlanStatus,
                                                 SoilPermittivity, ToolCommand, ToolState,
                                                 Twist2D, VehicleState)
from demining_bringup.contract.states import (CmdSource, FollowerStatus, LegKind, MissionState,
                                              PlanState, SafetyState, ZoneState)

#: Indices of x, y and yaw variances in a row-major 6x6 covariance.
_COV_X, _COV_Y, _COV_YAW = 0, 7, 35
#: Marker colours (r, g, b, a) per detection kind.
_COLOURS = {DetectionKind.AP: (1.0, 0.0, 0.0, 0.9), DetectionKind.AT: (1.0, 0.0, 1.0, 0.9),
            DetectionKind.UXO: (1.0, 0.5, 0.0, 0.9), DetectionKind.CLUTTER: (0.5, 0.5, 0.5, 0.6),
            DetectionKind.UNKNOWN: (1.0, 1.0, 0.0, 0.9)}
_MARKER_HEIGHT_M = 0.1
_MARKER_MIN_RADIUS_M = 0.05
_LABEL_HEIGHT_M = 0.3
_TEXT_SIZE_M = 0.25


@dataclasses.dataclass(frozen=True)
class Wire:
    """How one topic travels: message type, QoS, and the plain value <-> message conversion.

    ``encode(value, now)`` builds the message (``now`` stamps values that carry no stamp of
    their own); ``decode(msg)`` returns the plain value or raises :class:`DecodeError`.
    ``decode`` is None for topics no component subscribes to (visualisation only).
    """

    msg_type: type
    qos: QoSProfile
    encode: Callable[[Any, float], Any]
    decode: Optional[Callable[[Any], Any]]
    #: The in-memory round trip of a host without DDS (:class:`FastPath`), or None.
    fast: Optional['FastPath'] = None
    #: The serialised form written and read without rclpy messages (the ROS host's busiest
    #: topics, :mod:`demining_bringup.contract.cdr`), or None.
    raw: Optional[RawPath] = None


@dataclasses.dataclass(frozen=True)
class FastPath:
    """``decode(encode(value, now))`` of a topic without building the ROS message.

    ``pack(value, now)`` takes, at the time of publication, exactly the numbers the message
    would hold (stamps rounded to nanoseconds, yaw through its quaternion, float32 point
    fields, the covariances as numpy float64 as rclpy stores fixed arrays); ``unpack(packed)``
    builds each subscriber its own value from them (but for an occupancy grid's cells: one
    read-only array shared by all, a copy of the sender's) and raises :class:`DecodeError`
    where ``decode`` would. ``test/demining_bringup/test_wire_fast.py`` checks both give
    the same values (types included) on random and malformed inputs. A ROS message object
    costs tens of microseconds to build and read back; a mission passes ~200 a second.
    """

    pack: Callable[[Any, float], Any]
    unpack: Callable[[Any], Any]


# --- encoders and decoders that need more than codec ----------------------------------------

def _enum_wire(enum_type: type) -> tuple:
    def encode(value: Any, now: float) -> String:
        return String(data=enum_type(value).value)

    def decode(msg: String) -> Any:
        try:
            return enum_type(msg.data)
        except ValueError:
            raise DecodeError(f'{msg.data!r} is not a {enum_type.__name__}') from None
    return encode, decode


def _encode_twist(cmd: Twist2D, now: float) -> Twist:
    out = Twist()
    out.linear.x, out.angular.z = float(cmd.v), float(cmd.omega)
    return out


def _decode_twist(msg: Twist) -> Twist2D:
    # Non-finite values are kept on purpose: the safety supervisor stops on them.
    return Twist2D(float(msg.linear.x), float(msg.angular.z))


def _encode_odom_sample(s: OdomSample, now: float) -> Odometry:
    cov = [0.0] * 36
    cov[_COV_X] = cov[_COV_Y] = s.variance_xy
    cov[_COV_YAW] = s.variance_yaw
    state = VehicleState(stamp=s.stamp, x=s.x, y=s.y, yaw=s.yaw, v=s.v, omega=s.omega)
    return codec.state_to_odometry(state, topics.ODOM_FRAME, topics.BASE_FRAME, cov)


def _decode_odom_sample(msg: Odometry) -> OdomSample:
    # Values are checked by the estimator (it counts invalid samples), not dropped here.
    p, c = msg.pose.pose.position, msg.pose.covariance
    return OdomSample(stamp=codec.stamp_to_sec(msg.header.stamp), x=p.x, y=p.y,
                      yaw=codec.yaw_from_quaternion(msg.pose.pose.orientation),
                      v=msg.twist.twist.linear.x, omega=msg.twist.twist.angular.z,
                      variance_xy=c[_COV_X], variance_yaw=c[_COV_YAW])


def _encode_gnss(f: GnssFix, now: float) -> NavSatFix:
    msg = NavSatFix()
    msg.header = codec.make_header(f.stamp, topics.GNSS_FRAME)
    msg.status.status = int(f.status)
    msg.status.service = NavSatStatus.SERVICE_GPS
    msg.latitude, msg.longitude, msg.altitude = f.latitude, f.longitude, f.altitude
    if len(f.covariance) == 3:
        msg.position_covariance = [f.covariance[0], 0.0, 0.0, 0.0, f.covariance[1], 0.0,
                                   0.0, 0.0, f.covariance[2]]
        msg.position_covariance_type = NavSatFix.COVARIANCE_TYPE_DIAGONAL_KNOWN
    else:
        msg.position_covariance_type = NavSatFix.COVARIANCE_TYPE_UNKNOWN
    return msg


def _decode_gnss(msg: NavSatFix) -> GnssFix:
    c = msg.position_covariance
    cov: Sequence[float] = ()
    if msg.position_covariance_type != NavSatFix.COVARIANCE_TYPE_UNKNOWN:
        cov = (c[0], c[4], c[8])
    return GnssFix(stamp=codec.stamp_to_sec(msg.header.stamp), latitude=msg.latitude,
                   longitude=msg.longitude, altitude=msg.altitude, covariance=cov,
                   status=int(msg.status.status))


def _encode_imu(s: ImuSample, now: float) -> Imu:
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
    return msg


def _decode_imu(msg: Imu) -> ImuSample:
    q, w, a = msg.orientation, msg.angular_velocity, msg.linear_acceleration
    oc = msg.orientation_covariance
    return ImuSample(stamp=codec.stamp_to_sec(msg.header.stamp),
                     orientation=(q.x, q.y, q.z, q.w), angular_velocity=(w.x, w.y, w.z),
                     linear_acceleration=(a.x, a.y, a.z),
                     orientation_variance=(oc[0], oc[4], oc[8]),
                     angular_velocity_variance=msg.angular_velocity_covariance[0],
                     linear_acceleration_variance=msg.linear_acceleration_covariance[0])


def _encode_truth(g: GroundTruth, now: float) -> Odometry:
    state = VehicleState(stamp=g.stamp, x=g.x, y=g.y, yaw=g.yaw, v=g.v, omega=g.omega)
    msg = codec.state_to_odometry(state, topics.MAP_FRAME, topics.BASE_FRAME)
    msg.pose.pose.position.z = g.z
    msg.pose.pose.orientation = codec.quaternion_from_rpy(g.roll, g.pitch, g.yaw)
    return msg


def _decode_truth(msg: Odometry) -> GroundTruth:
    p, q = msg.pose.pose.position, msg.pose.pose.orientation
    roll, pitch, yaw = codec.rpy_from_quaternion(q)
    truth = GroundTruth(stamp=codec.stamp_to_sec(msg.header.stamp), x=p.x, y=p.y, z=p.z,
                        roll=roll, pitch=pitch, yaw=yaw, v=msg.twist.twist.linear.x,
                        omega=msg.twist.twist.angular.z)
    if not all(math.isfinite(v) for v in dataclasses.astuple(truth)):
        raise DecodeError('ground truth has non-finite values')
    return truth


def _encode_state(state: VehicleState, now: float) -> Odometry:
    msg = codec.state_to_odometry(state, topics.MAP_FRAME, topics.BASE_FRAME,
                                  pose_covariance=state.pose_covariance)
    if len(state.twist_covariance) == 36:
        msg.twist.covariance = [float(c) for c in state.twist_covariance]
    return msg


def _detections_wire(source: str) -> tuple:
    def encode(d: Detections, now: float) -> PointCloud2:
        return codec.encode_detections(d.items, d.stamp, topics.MAP_FRAME)

    def decode(msg: PointCloud2) -> Detections:
        if msg.header.frame_id not in ('', topics.MAP_FRAME):
            raise DecodeError(f'detections in frame {msg.header.frame_id!r} (expected '
                              f'{topics.MAP_FRAME})')
        return Detections(codec.stamp_to_sec(msg.header.stamp),
                          codec.decode_detections(msg, source=source))

    def pack(d: Detections, now: float) -> tuple:
        # the message's rows (encode always writes the map frame, which decode accepts)
        return _stamp(d.stamp), codec.detection_rows(d.items)

    def unpack(p: tuple) -> Detections:
        stamp, rows = p
        return Detections(stamp, codec.detections_from_rows(rows, source))
    return encode, decode, (pack, unpack)


def markers_for(dets: Sequence[Detection], stamp: float) -> MarkerArray:
    """Build a MarkerArray (a DELETEALL, then a cylinder and a label per detection)."""
    header = codec.make_header(stamp, topics.MAP_FRAME)
    out: List[Marker] = [Marker(header=header, action=Marker.DELETEALL)]
    for d in dets:
        r, g, b, a = _COLOURS.get(d.kind, _COLOURS[DetectionKind.UNKNOWN])
        m = Marker(header=header, ns='detections', id=int(d.id), type=Marker.CYLINDER,
                   action=Marker.ADD, lifetime=Duration())
        m.pose.position.x, m.pose.position.y = float(d.x), float(d.y)
        m.pose.position.z = -float(d.depth)
        m.pose.orientation.w = 1.0
        m.scale.x = m.scale.y = 2.0 * max(float(d.radius), _MARKER_MIN_RADIUS_M)
        m.scale.z = _MARKER_HEIGHT_M
        m.color = ColorRGBA(r=r, g=g, b=b, a=a)
        t = Marker(header=header, ns='labels', id=int(d.id), type=Marker.TEXT_VIEW_FACING,
                   action=Marker.ADD, text=f'{d.id} {d.kind.name} {d.confidence:.2f}')
        t.pose.position.x, t.pose.position.y = float(d.x), float(d.y)
        t.pose.position.z = _LABEL_HEIGHT_M
        t.pose.orientation.w = 1.0
        t.scale.z = _TEXT_SIZE_M
        t.color = ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0)
        out.extend([m, t])
    return MarkerArray(markers=out)


def _encode_grid(g: Grid, now: float, frame_id: str = topics.MAP_FRAME) -> OccupancyGrid:
    return codec.grid_to_occupancy(g.values, g.origin_x, g.origin_y, g.resolution, g.stamp,
                                   frame_id)


def _decode_grid(msg: OccupancyGrid) -> Grid:
    o = msg.info.origin.position
    return Grid(stamp=codec.stamp_to_sec(msg.header.stamp), values=codec.occupancy_to_grid(msg),
                origin_x=o.x, origin_y=o.y, resolution=msg.info.resolution)


def _decode_path(msg: Path) -> np.ndarray:
    return codec.path_to_xy(msg)


def _decode_float(msg: Float32) -> float:
    return float(msg.data)


def _decode_speed(msg: Float32) -> float:
    # A speed limit is a non-negative finite speed: anything else is no limit at all.
    v = float(msg.data)
    if not math.isfinite(v) or v < 0.0:
        raise DecodeError(f'speed limit {v} is not a speed')
    return v


def _decode_inspection_ack(msg: String) -> str:
    # An acknowledgement is the inspector's words: an empty one acknowledges nothing.
    text = str(msg.data).strip()
    if not text:
        raise DecodeError('empty inspection acknowledgement')
    return text


def _points_wire(frame_id: str) -> tuple:
    """geometry_msgs/PoseArray of ground points in ``frame_id`` (z 0, identity orientation)."""
    def encode(pts: PlanarPoints, now: float) -> PoseArray:
        msg = PoseArray(header=codec.make_header(pts.stamp, frame_id))
        for x, y in pts.points:
            pose = Pose()
            pose.position.x, pose.position.y = float(x), float(y)
            pose.orientation.w = 1.0
            msg.poses.append(pose)
        return msg

    def decode(msg: PoseArray) -> PlanarPoints:
        if msg.header.frame_id != frame_id:
            raise DecodeError(f'points in frame {msg.header.frame_id!r} (expected {frame_id})')
        stamp = codec.stamp_to_sec(msg.header.stamp)
        pts = [(float(p.position.x), float(p.position.y)) for p in msg.poses]
        if not all(math.isfinite(v) for xy in pts for v in xy):
            raise DecodeError('non-finite point')
        return PlanarPoints(stamp, pts, frame_id)
    return encode, decode


def _encode_people_zone(z: PeopleZone, now: float) -> String:
    nearest = float(z.nearest_m)
    return String(data=json.dumps({
        'stamp': float(z.stamp), 'zone': ZoneState(z.zone).value, 'reason': str(z.reason),
        'nearest_m': round(nearest, 3) if math.isfinite(nearest) else None,
        'people': int(z.people)}, allow_nan=False))


def _decode_people_zone(msg: String) -> PeopleZone:
    try:
        body = json.loads(msg.data)
        nearest = body.get('nearest_m')
        z = PeopleZone(stamp=float(body['stamp']), zone=ZoneState(body['zone']).value,
                       reason=str(body.get('reason', '')),
                       nearest_m=float('inf') if nearest is None else float(nearest),
                       people=int(body.get('people', 0)))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DecodeError(f'malformed people zone: {exc}') from None
    if not math.isfinite(z.stamp):
        raise DecodeError('people zone has a non-finite stamp')
    return z


def _encode_plan_status(st: PlanStatus, now: float) -> String:
    return String(data=json.dumps({
        'stamp': float(st.stamp), 'state': PlanState(st.state).value, 'reason': str(st.reason),
        'unreached': [{'reason': str(r), 'ring': [[round(float(x), 3), round(float(y), 3)]
                                                  for x, y in ring]}
                      for r, ring in st.unreached],
        'no_go': [[round(float(v), 3) for v in d] for d in st.no_go],
        'waypoints': int(st.waypoints), 'work': [[int(a), int(b)] for a, b in st.work]},
        allow_nan=False))


def _decode_plan_status(msg: String) -> PlanStatus:
    try:
        body = json.loads(msg.data)
        st = PlanStatus(stamp=float(body['stamp']), state=PlanState(body['state']).value,
                        reason=str(body.get('reason', '')),
                        unreached=[(str(u['reason']),
                                    [(float(x), float(y)) for x, y in u['ring']])
                                   for u in body.get('unreached', [])],
                        no_go=[(float(x), float(y), float(r))
                               for x, y, r in body.get('no_go', [])],
                        waypoints=int(body.get('waypoints', 0)),
                        work=[(int(a), int(b)) for a, b in body.get('work', [])])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DecodeError(f'malformed plan status: {exc}') from None
    if not math.isfinite(st.stamp):
        raise DecodeError('plan status has a non-finite stamp')
    return st


def _encode_permittivity(p: SoilPermittivity, now: float) -> String:
    est = float(p.estimate)
    return String(data=json.dumps({
        'stamp': float(p.stamp), 'in_use': float(p.in_use), 'prior': float(p.prior),
        'estimate': est if math.isfinite(est) else None, 'fits': int(p.fits),
        'estimated': bool(p.estimated)}, allow_nan=False))


def _decode_permittivity(msg: String) -> SoilPermittivity:
    try:
        body = json.loads(msg.data)
        est = body.get('estimate')
        p = SoilPermittivity(stamp=float(body['stamp']), in_use=float(body['in_use']),
                             prior=float(body['prior']),
                             estimate=math.nan if est is None else float(est),
                             fits=int(body.get('fits', 0)),
                             estimated=bool(body.get('estimated', False)))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DecodeError(f'malformed soil permittivity: {exc}') from None
    if not (math.isfinite(p.stamp) and p.in_use >= 1.0 and p.prior >= 1.0):
        raise DecodeError('soil permittivity: a non-finite stamp or a permittivity below 1')
    return p


# --- fast paths (the in-memory round trip of the deterministic host) -------------------------

_NS_PER_S = 1_000_000_000


def _stamp(t: float) -> float:
    """``stamp_to_sec(sec_to_stamp(t))``: seconds rounded to the nanosecond (same float)."""
    ns = max(0, int(round(t * _NS_PER_S)))
    return ns // _NS_PER_S + (ns % _NS_PER_S) * 1e-9


def _yaw(yaw: float) -> float:
    """``yaw_from_quaternion(quaternion_from_yaw(yaw))`` (same float)."""
    return yaw_from_xyzw(0.0, 0.0, math.sin(yaw / 2.0), math.cos(yaw / 2.0))


def _f64(values: Sequence[float]) -> np.ndarray:
    """A fixed-size float64 message array as rclpy stores it (its items are numpy floats)."""
    return np.array(values, dtype=np.float64)


def _pack_twist(cmd: Twist2D, now: float) -> tuple:
    return float(cmd.v), float(cmd.omega)


def _unpack_twist(packed: tuple) -> Twist2D:
    return Twist2D(packed[0], packed[1])


def _pack_odom_sample(s: OdomSample, now: float) -> tuple:
    return (_stamp(s.stamp), float(s.x), float(s.y), _yaw(s.yaw), float(s.v), float(s.omega),
            _f64([s.variance_xy, s.variance_yaw]))


def _unpack_odom_sample(p: tuple) -> OdomSample:
    stamp, x, y, yaw, v, omega, var = p
    return OdomSample(stamp=stamp, x=x, y=y, yaw=yaw, v=v, omega=omega, variance_xy=var[0],
                      variance_yaw=var[1])


def _pack_state(state: VehicleState, now: float) -> tuple:
    if len(state.pose_covariance) == 36:
        cov = (float(state.pose_covariance[_COV_X]), float(state.pose_covariance[_COV_Y]))
    else:
        cov = (float(state.covariance_xy),) * 2
    return (_stamp(state.stamp), float(state.x), float(state.y), _yaw(state.yaw),
            float(state.v), float(state.omega), _f64(cov))


def _unpack_state(p: tuple) -> VehicleState:
    stamp, x, y, yaw, v, omega, cov = p
    # positional (stamp, x, y, yaw, v, omega, covariance_xy): the pose reaches nine nodes ten
    # times a second, and keywords cost a third of the construction
    state = VehicleState(stamp, x, y, yaw, v, omega, max(cov[0], cov[1]))
    isfinite = math.isfinite
    if not (isfinite(x) and isfinite(y) and isfinite(yaw) and isfinite(v) and isfinite(omega)):
        raise DecodeError('odometry has non-finite values')
    return state


def _pack_imu(s: ImuSample, now: float) -> tuple:
    ov = s.orientation_variance
    return (_stamp(s.stamp), tuple(s.orientation), tuple(s.angular_velocity),
            tuple(s.linear_acceleration),
            _f64([ov[0], ov[1], ov[2], s.angular_velocity_variance,
                  s.linear_acceleration_variance]))


def _unpack_imu(p: tuple) -> ImuSample:
    stamp, q, w, a, var = p
    return ImuSample(stamp=stamp, orientation=q, angular_velocity=w, linear_acceleration=a,
                     orientation_variance=(var[0], var[1], var[2]),
                     angular_velocity_variance=var[3], linear_acceleration_variance=var[4])


def _pack_gnss(f: GnssFix, now: float) -> tuple:
    cov = _f64([f.covariance[0], f.covariance[1], f.covariance[2]]) \
        if len(f.covariance) == 3 else None
    return _stamp(f.stamp), f.latitude, f.longitude, f.altitude, cov, int(f.status)


def _unpack_gnss(p: tuple) -> GnssFix:
    stamp, lat, lon, alt, cov, status = p
    return GnssFix(stamp=stamp, latitude=lat, longitude=lon, altitude=alt,
                   covariance=() if cov is None else (cov[0], cov[1], cov[2]), status=status)


def _pack_tool_state(s: ToolState, now: float) -> tuple:
    return (_stamp(s.stamp), float(s.flail_speed), float(s.tiller_speed), float(s.depth),
            float(s.flail_torque), float(s.tiller_torque))


def _unpack_tool_state(p: tuple) -> ToolState:
    if not all(math.isfinite(v) for v in p[1:]):
        raise DecodeError('tool state has non-finite values')
    return ToolState(*p)


def _pack_tool_command(cmd: ToolCommand, now: float) -> tuple:
    _stamp(now)                        # the header's stamp: the same error for a NaN
    return float(cmd.flail_speed), float(cmd.tiller_speed), float(cmd.depth)


def _unpack_tool_command(p: tuple) -> ToolCommand:
    if not all(math.isfinite(v) for v in p):
        raise DecodeError('tool command has non-finite values')
    return ToolCommand(*p)


def _pack_heartbeat(h: Heartbeat, now: float) -> float:
    return _stamp(h.stamp)


def _pack_points(pts: PlanarPoints, now: float) -> tuple:
    return _stamp(pts.stamp), tuple((float(x), float(y)) for x, y in pts.points)


def _points_unpack(frame_id: str) -> Callable[[tuple], PlanarPoints]:
    def unpack(p: tuple) -> PlanarPoints:
        stamp, pts = p
        if not all(math.isfinite(v) for xy in pts for v in xy):
            raise DecodeError('non-finite point')
        return PlanarPoints(stamp, list(pts), frame_id)
    return unpack


def _cloud_columns(n: int, **columns: Any) -> Dict[str, np.ndarray]:
    """Each column cast as assigning it to a point-cloud field would (float32 / uint32)."""
    out = {}
    for name, (value, dtype) in columns.items():
        col = np.empty(n, dtype=dtype)
        col[...] = value
        out[name] = col
    return out


def _pack_gpr(scan: GprScan, now: float) -> Any:
    amps = np.asarray(scan.amplitudes, dtype=np.float32)
    if amps.ndim != 2 or amps.shape[0] == 0 or amps.shape[1] == 0:
        return codec.encode_gpr_scan(scan)              # the message itself (rare shapes)
    n = amps.shape[0]
    pos = np.asarray(scan.positions, dtype=np.float32).reshape(n, 3)
    cols = _cloud_columns(n, time_offset=(scan.time_offsets, np.float32),
                          channel=(scan.channels, np.uint32),
                          interval=(scan.sample_interval_ns, np.float32))
    return (_stamp(scan.stamp), scan.frame_id, pos.copy(), cols['time_offset'],
            cols['channel'], cols['interval'], amps.copy())


def _unpack_gpr(p: Any) -> GprScan:
    if not isinstance(p, tuple):
        return codec.decode_gpr_scan(p)
    stamp, frame_id, pos, offsets, channels, intervals, amps = p
    ok = (np.isfinite(pos).all(axis=1) & np.isfinite(offsets) & np.isfinite(amps).all(axis=1))
    # Every trace finite (a scan of the running stack): the columns themselves, copied as
    # the masks would, without five boolean gathers (a scan reaches the processor ten times a
    # second); the reductions np.all and np.ptp make, without their wrappers.
    every = np.count_nonzero(ok) == len(ok)
    if not every:
        pos, offsets, channels, intervals, amps = (pos[ok], offsets[ok], channels[ok],
                                                   intervals[ok], amps[ok])
    if intervals.size and (not np.logical_and.reduce(intervals > 0)
                           or np.maximum.reduce(intervals) - np.minimum.reduce(intervals)
                           > 1e-6):
        raise DecodeError('sample_interval_ns must be positive and equal for all traces')
    return GprScan(stamp=stamp, positions=pos.astype(np.float64),
                   time_offsets=offsets.astype(np.float64),
                   channels=channels.astype(np.int64),
                   sample_interval_ns=float(intervals[0]) if intervals.size else 0.0,
                   amplitudes=amps.copy() if every else amps, frame_id=frame_id)


def _pack_md(scan: MdScan, now: float) -> tuple:
    n = len(scan.signals)
    pos = np.asarray(scan.positions, dtype=np.float32).reshape(n, 3)
    cols = _cloud_columns(n, time_offset=(scan.time_offsets, np.float32),
                          channel=(scan.channels, np.uint32), signal=(scan.signals, np.float32))
    return (_stamp(scan.stamp), scan.frame_id, pos.copy(), cols['time_offset'],
            cols['channel'], cols['signal'])


def _unpack_md(p: tuple) -> MdScan:
    stamp, frame_id, pos, offsets, channels, signals = p
    ok = np.isfinite(pos).all(axis=1) & np.isfinite(offsets) & np.isfinite(signals)
    # (As _unpack_gpr: every reading finite, the columns copied without the gathers.)
    if np.count_nonzero(ok) == len(ok):
        return MdScan(stamp=stamp, positions=pos.astype(np.float64),
                      time_offsets=offsets.astype(np.float64),
                      channels=channels.astype(np.int64), signals=signals.copy(),
                      frame_id=frame_id)
    return MdScan(stamp=stamp, positions=pos[ok].astype(np.float64),
                  time_offsets=offsets[ok].astype(np.float64),
                  channels=channels[ok].astype(np.int64), signals=signals[ok],
                  frame_id=frame_id)


def _pack_people_zone(z: PeopleZone, now: float) -> tuple:
    # the JSON body's values, in the encoder's order of conversion (the same errors)
    nearest = float(z.nearest_m)
    body = (float(z.stamp), ZoneState(z.zone).value, str(z.reason),
            round(nearest, 3) if math.isfinite(nearest) else None, int(z.people))
    if not math.isfinite(body[0]):
        raise ValueError('a non-finite people-zone stamp is not JSON')
    return body


def _unpack_people_zone(p: tuple) -> PeopleZone:
    stamp, zone, reason, nearest, people = p
    return PeopleZone(stamp=stamp, zone=zone, reason=reason,
                      nearest_m=float('inf') if nearest is None else nearest, people=people)


def _pack_grid(g: Grid, now: float) -> tuple:
    values = np.asarray(g.values)
    # np.clip returns a new array: an int8 grid (the fusion's map) needs no second copy.
    cells = np.clip(values, -1, 100).astype(np.int8, copy=False).reshape(values.shape)
    # Shared, read-only, by every subscriber (FastPath): the grids are the largest values on
    # the wire (a 1 ha field is ~1.4 MB at 1 Hz) and their subscribers only read them.
    cells.flags.writeable = False
    return (_stamp(g.stamp), cells, float(g.origin_x), float(g.origin_y),
            float(g.resolution))


def _unpack_grid(p: tuple) -> Grid:
    stamp, values, ox, oy, res = p
    return Grid(stamp=stamp, values=values, origin_x=ox, origin_y=oy, resolution=res)


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
        return JointState(header=header, name=[topics.FLAIL_JOINT, topics.DEPTH_JOINT, 'x'],
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
    if msg_type is PoseArray:
        return PoseArray(header=header)
    return msg_type()


def _wire(msg_type: type, profile: QoSProfile, encode: Callable[[Any, float], Any],
          decode: Optional[Callable[[Any], Any]],
          fast: Optional[Tuple[Callable[[Any, float], Any], Callable[[Any], Any]]] = None,
          raw: Optional[Tuple[Callable[[Any, float], Optional[bytes]],
                              Optional[Callable[[bytes], Any]]]] = None) -> Wire:
    def encode_or_garbage(value: Any, now: float) -> Any:
        if isinstance(value, Garbage):
            return garbage_message(msg_type, value.stamp)
        return encode(value, now)
    return Wire(msg_type, profile, encode_or_garbage, decode,
                FastPath(*fast) if fast is not None and decode is not None else None,
                cdr.raw_path(msg_type, encode_or_garbage, decode, *raw)
                if raw is not None else None)


def _build() -> Dict[str, Wire]:
    mission = _enum_wire(MissionState)
    follower = _enum_wire(FollowerStatus)
    safety = _enum_wire(SafetyState)
    source = _enum_wire(CmdSource)
    gpr_det, md_det, fused = (_detections_wire('gpr'), _detections_wire('md'),
                              _detections_wire('fused'))
    twist = (_pack_twist, _unpack_twist), (cdr.write_twist, cdr.read_twist)
    tool_command = ((_pack_tool_command, _unpack_tool_command),
                    (cdr.write_tool_command, cdr.read_tool_command))
    return {
        topics.CLOCK: _wire(Clock, qos.CLOCK,
                            lambda t, now: Clock(clock=codec.sec_to_stamp(t)),
                            lambda m: codec.stamp_to_sec(m.clock)),
        topics.ODOM_TRACKS: _wire(Odometry, qos.SENSOR, _encode_odom_sample,
                                  _decode_odom_sample, (_pack_odom_sample, _unpack_odom_sample),
                                  (cdr.odom_sample_writer(topics.ODOM_FRAME, topics.BASE_FRAME),
                                   cdr.read_odom_sample)),
        topics.GNSS_FIX: _wire(NavSatFix, qos.SENSOR, _encode_gnss, _decode_gnss,
                               (_pack_gnss, _unpack_gnss)),
        topics.IMU: _wire(Imu, qos.SENSOR, _encode_imu, _decode_imu, (_pack_imu, _unpack_imu),
                          (cdr.imu_writer(topics.IMU_FRAME), cdr.read_imu)),
        topics.GPR_TRACES: _wire(PointCloud2, qos.SENSOR,
                                 lambda s, now: codec.encode_gpr_scan(s), codec.decode_gpr_scan,
                                 (_pack_gpr, _unpack_gpr)),
        topics.MD_COILS: _wire(PointCloud2, qos.SENSOR, lambda s, now: codec.encode_md_scan(s),
                               codec.decode_md_scan, (_pack_md, _unpack_md)),
        topics.TOOL_JOINT_STATES: _wire(JointState, qos.SENSOR,
                                        lambda s, now: codec.encode_tool_state(s),
                                        codec.decode_tool_state,
                                        (_pack_tool_state, _unpack_tool_state),
                                        (cdr.write_tool_state, cdr.read_tool_state)),
        topics.SIM_EVENTS: _wire(String, qos.EVENTS, lambda e, now: codec.encode_event(e),
                                 codec.decode_event),
        topics.GROUND_TRUTH: _wire(Odometry, qos.SENSOR, _encode_truth, _decode_truth,
                                   raw=(cdr.truth_writer(topics.MAP_FRAME, topics.BASE_FRAME),
                                        None)),
        topics.OPERATOR_HEARTBEAT: _wire(Header, qos.COMMAND,
                                         lambda h, now: codec.make_header(h.stamp, ''),
                                         lambda m: Heartbeat(codec.stamp_to_sec(m.stamp)),
                                         (_pack_heartbeat, Heartbeat)),
        topics.OPERATOR_ESTOP: _wire(Bool, qos.LATCHED, lambda v, now: Bool(data=bool(v)),
                                     lambda m: bool(m.data)),
        topics.LOCALIZATION: _wire(Odometry, qos.STATE, _encode_state, codec.odometry_to_state,
                                   (_pack_state, _unpack_state),
                                   (cdr.state_writer(topics.MAP_FRAME, topics.BASE_FRAME),
                                    cdr.read_state)),
        topics.GPR_DETECTIONS: _wire(PointCloud2, qos.STATE, *gpr_det),
        topics.GPR_PERMITTIVITY: _wire(String, qos.LATCHED, _encode_permittivity,
                                       _decode_permittivity),
        topics.MD_DETECTIONS: _wire(PointCloud2, qos.STATE, *md_det),
        topics.DETECTIONS: _wire(PointCloud2, qos.LATCHED, *fused),
        topics.DETECTION_MARKERS: _wire(MarkerArray, qos.LATCHED,
                                        lambda d, now: markers_for(d.items, d.stamp), None),
        topics.MINE_MAP: _wire(OccupancyGrid, qos.LATCHED, _encode_grid, _decode_grid,
                               (_pack_grid, _unpack_grid)),
        topics.COVERAGE_PROCESSED: _wire(OccupancyGrid, qos.LATCHED, _encode_grid,
                                         _decode_grid, (_pack_grid, _unpack_grid)),
        topics.COVERAGE_PATH: _wire(Path, qos.LATCHED, lambda xy, now: codec.xy_to_path(xy, now),
                                    _decode_path),
        topics.FOLLOWER_STATUS: _wire(String, qos.LATCHED, *follower),
        topics.FOLLOWER_LEG: _wire(String, qos.LATCHED, *_enum_wire(LegKind)),
        topics.TOOL_SPEED_LIMIT: _wire(Float32, qos.STATE,
                                       lambda v, now: Float32(data=float(v)), _decode_speed),
        topics.TOOL_DEPTH_ERROR: _wire(Float32, qos.SENSOR,
                                       lambda v, now: Float32(data=float(v)), _decode_float),
        topics.CMD_VEL_AUTO: _wire(Twist, qos.COMMAND, _encode_twist, _decode_twist, *twist),
        topics.CMD_VEL: _wire(Twist, qos.COMMAND, _encode_twist, _decode_twist, *twist),
        topics.TOOL_COMMAND_AUTO: _wire(JointState, qos.COMMAND, codec.encode_tool_command,
                                        codec.decode_tool_command, *tool_command),
        topics.TOOL_COMMAND: _wire(JointState, qos.COMMAND, codec.encode_tool_command,
                                   codec.decode_tool_command, *tool_command),
        topics.TOOL_EVENTS: _wire(String, qos.EVENTS,
                                  lambda ev, now: codec.encode_tool_event(ev),
                                  codec.decode_tool_event),
        topics.SAFETY_STATE: _wire(String, qos.LATCHED, *safety),
        topics.SAFETY_EVENTS: _wire(String, qos.EVENTS,
                                    lambda ev, now: codec.encode_safety_event(ev),
                                    codec.decode_safety_event),
        topics.MISSION_STATE: _wire(String, qos.LATCHED, *mission),
        topics.MISSION_PROGRESS: _wire(Float32, qos.STATE,
                                       lambda p, now: Float32(data=float(p)), _decode_float),
        topics.MISSION_REPORT: _wire(String, qos.LATCHED, lambda p, now: String(data=str(p)),
                                     lambda m: str(m.data)),
        # An action, not a state: volatile, so a restarted supervisor never sees an old one.
        topics.SAFETY_INSPECTION_ACK: _wire(String, qos.COMMAND,
                                            lambda t, now: String(data=str(t)),
                                            _decode_inspection_ack),
        # People: the actors' truth (record only), the people sensor, the monitor's verdict.
        topics.SIM_ACTORS: _wire(PoseArray, qos.SENSOR, *_points_wire(topics.MAP_FRAME)),
        topics.PEOPLE_DETECTIONS: _wire(PoseArray, qos.SENSOR,
                                        *_points_wire(topics.BASE_FRAME),
                                        (_pack_points, _points_unpack(topics.BASE_FRAME))),
        topics.PEOPLE_ZONE: _wire(String, qos.STATE, _encode_people_zone, _decode_people_zone,
                                  (_pack_people_zone, _unpack_people_zone)),
        topics.COVERAGE_STATUS: _wire(String, qos.LATCHED, _encode_plan_status,
                                      _decode_plan_status),
        # Command mux: teleop with its deadman (hold-to-run: volatile, a late joiner must not
        # see an old "held"), the pause lock (latched like the e-stop), the mux's choice.
        topics.CMD_VEL_TELEOP: _wire(Twist, qos.COMMAND, _encode_twist, _decode_twist, *twist),
        topics.OPERATOR_DEADMAN: _wire(Bool, qos.COMMAND, lambda v, now: Bool(data=bool(v)),
                                       lambda m: bool(m.data)),
        topics.OPERATOR_PAUSE: _wire(Bool, qos.LATCHED, lambda v, now: Bool(data=bool(v)),
                                     lambda m: bool(m.data)),
        topics.CMD_VEL_MUX: _wire(Twist, qos.COMMAND, _encode_twist, _decode_twist, *twist),
        topics.CMD_VEL_SOURCE: _wire(String, qos.LATCHED, *source),
    }


class Wires:
    """The per-topic bindings of the contract (read-only after construction)."""

    def __init__(self) -> None:
        """Build every binding once."""
        self._by_topic = _build()

    def __getitem__(self, topic: str) -> Wire:
        """Return the binding of ``topic``; KeyError names a topic outside the contract."""
        try:
            return self._by_topic[topic]
        except KeyError:
            raise KeyError(f'{topic} is not a topic of the contract (docs/interfaces.md)') \
                from None

    def __contains__(self, topic: str) -> bool:
        """True when ``topic`` is bound."""
        return topic in self._by_topic

    def topics(self) -> List[str]:
        """Every bound topic."""
        return list(self._by_topic)


def wires() -> Wires:
    """Return the contract's per-topic bindings (cheap; call once per host)."""
    return Wires()
