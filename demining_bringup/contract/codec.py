"""ROS message <-> plain data conversion for every layout in docs/interfaces.md.

Every node converts through this module, so the documented layouts have exactly one encoder
and one decoder. Decoders raise :class:`DecodeError` on malformed input (wrong fields, sizes,
non-finite values where a value is required); nodes catch it, log and drop the message.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Iterable, List, Sequence

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped, Quaternion
from nav_msgs.msg import OccupancyGrid, Odometry, Path
from sensor_msgs.msg import JointState, PointCloud2, PointField
from std_msgs.msg import Header, String

from demining_bringup.contract import topics
from demining_bringup.contract.geo import yaw_from_xyzw
from demining_bringup.contract.datatypes import (Detection, DetectionKind, GprScan, MdScan,
                                                 SafetyEvent, SimEvent, ToolCommand, ToolEvent,
                                                 ToolState, VehicleState)
from demining_bringup.contract.states import SafetyState

_NS_PER_S = 1_000_000_000
_F32 = PointField.FLOAT32
_U32 = PointField.UINT32
_NP_TYPES = {_F32: '<f4', _U32: '<u4'}
_FIELD_SIZE = 4


class DecodeError(ValueError):
    """A message does not follow its documented layout."""


# --- time -----------------------------------------------------------------------------------

def stamp_to_sec(stamp: Time) -> float:
    """Return a builtin_interfaces/Time as float seconds."""
    return stamp.sec + stamp.nanosec * 1e-9


def sec_to_stamp(t: float) -> Time:
    """Return float seconds as builtin_interfaces/Time (non-negative, rounded to ns)."""
    ns = max(0, int(round(t * _NS_PER_S)))
    return Time(sec=ns // _NS_PER_S, nanosec=ns % _NS_PER_S)


def make_header(t: float, frame_id: str) -> Header:
    """Return a std_msgs/Header at ``t`` seconds in ``frame_id``."""
    return Header(stamp=sec_to_stamp(t), frame_id=frame_id)


# --- orientation ----------------------------------------------------------------------------

def yaw_from_quaternion(q: Quaternion) -> float:
    """Return the yaw (rad, ENU) of a quaternion."""
    return yaw_from_xyzw(q.x, q.y, q.z, q.w)


def quaternion_from_yaw(yaw: float) -> Quaternion:
    """Return a geometry_msgs/Quaternion for a pure yaw rotation."""
    return Quaternion(x=0.0, y=0.0, z=math.sin(yaw / 2.0), w=math.cos(yaw / 2.0))


def quaternion_from_rpy(roll: float, pitch: float, yaw: float) -> Quaternion:
    """Return a geometry_msgs/Quaternion from roll, pitch, yaw (rad, fixed axes XYZ)."""
    cr, sr = math.cos(roll / 2.0), math.sin(roll / 2.0)
    cp, sp = math.cos(pitch / 2.0), math.sin(pitch / 2.0)
    cy, sy = math.cos(yaw / 2.0), math.sin(yaw / 2.0)
    return Quaternion(x=sr * cp * cy - cr * sp * sy, y=cr * sp * cy + sr * cp * sy,
                      z=cr * cp * sy - sr * sp * cy, w=cr * cp * cy + sr * sp * sy)


def rpy_from_quaternion(q: Quaternion) -> tuple:
    """Return (roll, pitch, yaw) of a quaternion (rad, fixed axes XYZ; REP-103)."""
    roll = math.atan2(2.0 * (q.w * q.x + q.y * q.z), 1.0 - 2.0 * (q.x * q.x + q.y * q.y))
    pitch = math.asin(max(-1.0, min(1.0, 2.0 * (q.w * q.y - q.z * q.x))))
    return roll, pitch, yaw_from_quaternion(q)


# --- point-cloud layouts --------------------------------------------------------------------

def _layout(fields: Sequence[tuple]) -> List[PointField]:
    out, offset = [], 0
    for name, datatype, count in fields:
        out.append(PointField(name=name, offset=offset, datatype=datatype, count=count))
        offset += _FIELD_SIZE * count
    return out


def _dtype(fields: Sequence[PointField], point_step: int) -> np.dtype:
    return _dtype_of(tuple((f.name, f.datatype, f.count, f.offset) for f in fields),
                     int(point_step))


#: Distinct point layouts remembered (the stack uses four; a peer may send others).
_LAYOUT_CACHE_SIZE = 64


@functools.lru_cache(maxsize=_LAYOUT_CACHE_SIZE)
def _dtype_of(layout: tuple, point_step: int) -> np.dtype:
    """The numpy dtype of a point layout: a pure function, memoised (numpy builds it slowly)."""
    names, formats, offsets = [], [], []
    for name, datatype, count, offset in layout:
        if datatype not in _NP_TYPES:
            raise DecodeError(f'field {name!r} has unsupported datatype {datatype}')
        base = _NP_TYPES[datatype]
        names.append(name)
        formats.append((base, (count,)) if count > 1 else base)
        offsets.append(offset)
    try:
        return np.dtype({'names': names, 'formats': formats, 'offsets': offsets,
                         'itemsize': point_step})
    except (ValueError, TypeError) as exc:
        raise DecodeError(f'inconsistent point layout: {exc}') from None


def _to_cloud(arr: np.ndarray, fields: List[PointField], stamp: float,
              frame_id: str) -> PointCloud2:
    msg = PointCloud2()
    msg.header = make_header(stamp, frame_id)
    msg.height = 1
    msg.width = int(arr.shape[0])
    msg.fields = fields
    msg.is_bigendian = False
    msg.point_step = arr.dtype.itemsize
    msg.row_step = msg.point_step * msg.width
    msg.is_dense = True
    msg.data = arr.tobytes()
    return msg


def _from_cloud(msg: PointCloud2, required: Iterable[str]) -> np.ndarray:
    if msg.is_bigendian:
        raise DecodeError('big-endian point clouds are not supported')
    names = {f.name for f in msg.fields}
    missing = [n for n in required if n not in names]
    if missing:
        raise DecodeError(f'point cloud lacks fields {missing}')
    n = msg.width * msg.height
    if msg.point_step <= 0 or len(msg.data) != n * msg.point_step:
        raise DecodeError(f'point cloud data size {len(msg.data)} != {n} x {msg.point_step}')
    dtype = _dtype(msg.fields, msg.point_step)
    return np.frombuffer(bytes(msg.data), dtype=dtype, count=n)


def _xyz(arr: np.ndarray) -> np.ndarray:
    return np.stack([arr['x'], arr['y'], arr['z']], axis=1).astype(np.float64)


def _finite_rows(*columns: np.ndarray) -> np.ndarray:
    ok = np.ones(columns[0].shape[0], dtype=bool)
    for c in columns:
        ok &= np.isfinite(c.reshape(c.shape[0], int(np.prod(c.shape[1:])))).all(axis=1)
    return ok


def encode_gpr_scan(scan: GprScan) -> PointCloud2:
    """Encode a GPR batch (docs/interfaces.md, "GPR traces")."""
    amps = np.asarray(scan.amplitudes, dtype=np.float32)
    n, s = amps.shape if amps.ndim == 2 else (0, 0)
    fields = _layout([('x', _F32, 1), ('y', _F32, 1), ('z', _F32, 1),
                      ('time_offset', _F32, 1), ('channel', _U32, 1),
                      ('sample_interval_ns', _F32, 1), ('amplitude', _F32, max(s, 1))])
    arr = np.zeros(n, dtype=_dtype(fields, _FIELD_SIZE * (6 + max(s, 1))))
    pos = np.asarray(scan.positions, dtype=np.float32).reshape(n, 3)
    arr['x'], arr['y'], arr['z'] = pos[:, 0], pos[:, 1], pos[:, 2]
    arr['time_offset'] = scan.time_offsets
    arr['channel'] = scan.channels
    arr['sample_interval_ns'] = scan.sample_interval_ns
    if n:
        arr['amplitude'] = amps
    return _to_cloud(arr, fields, scan.stamp, scan.frame_id)


def decode_gpr_scan(msg: PointCloud2) -> GprScan:
    """Decode a GPR batch; traces with non-finite values are dropped."""
    arr = _from_cloud(msg, ('x', 'y', 'z', 'time_offset', 'channel', 'sample_interval_ns',
                            'amplitude'))
    samples = next(f.count for f in msg.fields if f.name == 'amplitude')
    amps = arr['amplitude'].astype(np.float32).reshape(arr.shape[0], samples)
    ok = _finite_rows(arr['x'], arr['y'], arr['z'], arr['time_offset'], amps)
    intervals = arr['sample_interval_ns'][ok]
    if intervals.size and (not np.all(intervals > 0) or np.ptp(intervals) > 1e-6):
        raise DecodeError('sample_interval_ns must be positive and equal for all traces')
    return GprScan(stamp=stamp_to_sec(msg.header.stamp), positions=_xyz(arr[ok]),
                   time_offsets=arr['time_offset'][ok].astype(np.float64),
                   channels=arr['channel'][ok].astype(np.int64),
                   sample_interval_ns=float(intervals[0]) if intervals.size else 0.0,
                   amplitudes=amps[ok], frame_id=msg.header.frame_id)


_MD_FIELDS = _layout([('x', _F32, 1), ('y', _F32, 1), ('z', _F32, 1), ('time_offset', _F32, 1),
                      ('channel', _U32, 1), ('signal', _F32, 1)])


def encode_md_scan(scan: MdScan) -> PointCloud2:
    """Encode a metal-detector batch (docs/interfaces.md, "Metal-detector coils")."""
    n = len(scan.signals)
    arr = np.zeros(n, dtype=_dtype(_MD_FIELDS, _FIELD_SIZE * 6))
    pos = np.asarray(scan.positions, dtype=np.float32).reshape(n, 3)
    arr['x'], arr['y'], arr['z'] = pos[:, 0], pos[:, 1], pos[:, 2]
    arr['time_offset'] = scan.time_offsets
    arr['channel'] = scan.channels
    arr['signal'] = scan.signals
    return _to_cloud(arr, _MD_FIELDS, scan.stamp, scan.frame_id)


def decode_md_scan(msg: PointCloud2) -> MdScan:
    """Decode a metal-detector batch; readings with non-finite values are dropped."""
    arr = _from_cloud(msg, ('x', 'y', 'z', 'time_offset', 'channel', 'signal'))
    ok = _finite_rows(arr['x'], arr['y'], arr['z'], arr['time_offset'], arr['signal'])
    arr = arr[ok]
    return MdScan(stamp=stamp_to_sec(msg.header.stamp), positions=_xyz(arr),
                  time_offsets=arr['time_offset'].astype(np.float64),
                  channels=arr['channel'].astype(np.int64),
                  signals=arr['signal'].astype(np.float32), frame_id=msg.header.frame_id)


_DET_FIELDS = _layout([('x', _F32, 1), ('y', _F32, 1), ('z', _F32, 1), ('confidence', _F32, 1),
                       ('kind', _U32, 1), ('id', _U32, 1), ('radius', _F32, 1),
                       ('strength', _F32, 1), ('polarity', _F32, 1), ('sigma_xy', _F32, 1),
                       ('radius_min', _F32, 1)])


_DET_DTYPE = _dtype(_DET_FIELDS, _FIELD_SIZE * 11)
_KIND_BY_VALUE = {int(k): k for k in DetectionKind}


def detection_rows(dets: Sequence[Detection]) -> np.ndarray:
    """The rows a detection list's message carries (its point layout: float32, uint32)."""
    # One conversion of all rows (the same float32/uint32 casts as row by row).
    return np.array([(d.x, d.y, -d.depth, d.confidence, int(d.kind), d.id, d.radius,
                      d.strength, d.polarity, d.sigma_xy, d.radius_min) for d in dets],
                    dtype=_DET_DTYPE)


def encode_detections(dets: Sequence[Detection], stamp: float,
                      frame_id: str = topics.MAP_FRAME) -> PointCloud2:
    """Encode a detection list (docs/interfaces.md, "Detection list")."""
    return _to_cloud(detection_rows(dets), _DET_FIELDS, stamp, frame_id)


#: Up to this many rows a detection list is decoded row by row on python floats, above it
#: column-wise: numpy's per-call overhead (~20 us for a dozen calls) outweighs the per-row
#: Python loop below ~70 rows (measured; the fused list of a mission's first lanes holds a few).
_ROWWISE_MAX_ROWS = 64


def detections_from_rows(arr: np.ndarray, source: str) -> List[Detection]:
    """:func:`decode_detections` of the stack's own layout (same values, types included).

    A fused list of a 1 ha field holds hundreds of tracks and several nodes take it five
    times a second: the row-by-row message decoder was a measurable share of a mission's CPU.
    A long list is decoded column-wise, a short one row by row on python floats.
    """
    if len(arr) <= _ROWWISE_MAX_ROWS:
        return _detections_rowwise(arr, source)
    return _detections_columnwise(arr, source)


def _detections_rowwise(arr: np.ndarray, source: str) -> List[Detection]:
    """:func:`detections_from_rows` one row at a time (the fields in layout order)."""
    kinds = _KIND_BY_VALUE
    isfinite = math.isfinite
    # tolist() gives the float32 and uint32 fields as python floats and ints, the values the
    # column-wise casts give; the checks are _polarity's and _nonneg's
    return [Detection(x, y, -z, min(1.0, max(0.0, c)), kinds[k], source, r, i, s,
                      int(math.copysign(1, p)) if isfinite(p) and p != 0.0 else 0,
                      q if isfinite(q) and q > 0.0 else 0.0,
                      b if isfinite(b) and b > 0.0 else 0.0)
            for x, y, z, c, k, i, r, s, p, q, b in arr.tolist()
            if isfinite(x) and isfinite(y) and isfinite(z) and isfinite(c) and k in kinds]


def _detections_columnwise(arr: np.ndarray, source: str) -> List[Detection]:
    """:func:`detections_from_rows` a column at a time."""
    kinds = _KIND_BY_VALUE
    x, y, z, conf = (arr[k].astype(np.float64) for k in ('x', 'y', 'z', 'confidence'))
    kind = arr['kind']
    ok = (np.isfinite(x) & np.isfinite(y) & np.isfinite(z) & np.isfinite(conf)
          & np.isin(kind, list(_KIND_BY_VALUE)))
    if not ok.all():
        x, y, z, conf, sub = x[ok], y[ok], z[ok], conf[ok], arr[ok]
    else:
        sub = arr
    pol = sub['polarity'].astype(np.float64)
    sig = sub['sigma_xy'].astype(np.float64)
    r_min = sub['radius_min'].astype(np.float64)
    # _polarity and _nonneg, column-wise: NaN polarity is 0, a non-positive sigma or bound 0.
    pol_sign = np.where(np.isfinite(pol) & (pol != 0.0), np.copysign(1.0, pol), 0.0)
    sig_ok = np.where(np.isfinite(sig) & (sig > 0.0), sig, 0.0)
    r_min_ok = np.where(np.isfinite(r_min) & (r_min > 0.0), r_min, 0.0)
    # positional: Detection(x, y, depth, confidence, kind, source, radius, id, strength,
    # polarity, sigma_xy, radius_min) (keywords cost twice the construction, hundreds per list)
    return [Detection(xi, yi, -zi, min(1.0, max(0.0, ci)), kinds[ki], source, ri, ii, si, pi,
                      qi, bi)
            for xi, yi, zi, ci, ki, ri, ii, si, pi, qi, bi in zip(
                x.tolist(), y.tolist(), z.tolist(), conf.tolist(), sub['kind'].tolist(),
                sub['radius'].astype(np.float64).tolist(), sub['id'].tolist(),
                sub['strength'].astype(np.float64).tolist(), pol_sign.astype(int).tolist(),
                sig_ok.tolist(), r_min_ok.tolist())]


def _polarity(value: float) -> int:
    """The sign of a wire polarity (-1, 0, +1); NaN is unknown (0)."""
    v = float(value)
    return int(math.copysign(1, v)) if math.isfinite(v) and v != 0.0 else 0


def _nonneg(value: float) -> float:
    """A non-negative finite float, else 0 (a position sigma, a lower bound of a width)."""
    v = float(value)
    return v if math.isfinite(v) and v > 0.0 else 0.0


def decode_detections(msg: PointCloud2, source: str = 'fused') -> List[Detection]:
    """Decode a detection list; entries with non-finite values or unknown kinds are dropped."""
    arr = _from_cloud(msg, ('x', 'y', 'z', 'confidence', 'kind'))
    if arr.dtype == _DET_DTYPE:
        return detections_from_rows(arr, source)
    names = arr.dtype.names or ()
    out = []
    valid_kinds = {int(k) for k in DetectionKind}
    for row in arr:
        vals = (float(row['x']), float(row['y']), float(row['z']), float(row['confidence']))
        if not all(math.isfinite(v) for v in vals) or int(row['kind']) not in valid_kinds:
            continue
        out.append(Detection(
            x=vals[0], y=vals[1], depth=-vals[2], confidence=min(1.0, max(0.0, vals[3])),
            kind=DetectionKind(int(row['kind'])), source=source,
            radius=float(row['radius']) if 'radius' in names else 0.1,
            id=int(row['id']) if 'id' in names else 0,
            strength=float(row['strength']) if 'strength' in names else 0.0,
            polarity=_polarity(row['polarity']) if 'polarity' in names else 0,
            sigma_xy=_nonneg(row['sigma_xy']) if 'sigma_xy' in names else 0.0,
            radius_min=_nonneg(row['radius_min']) if 'radius_min' in names else 0.0))
    return out


# --- tool joints ----------------------------------------------------------------------------

_TOOL_NAMES = [topics.FLAIL_JOINT, topics.TILLER_JOINT, topics.DEPTH_JOINT]


def encode_tool_command(cmd: ToolCommand, stamp: float) -> JointState:
    """Encode a tool command (velocity for the rotors, position for the depth)."""
    msg = JointState()
    msg.header = make_header(stamp, '')
    msg.name = list(_TOOL_NAMES)
    msg.position = [0.0, 0.0, float(cmd.depth)]
    msg.velocity = [float(cmd.flail_speed), float(cmd.tiller_speed), 0.0]
    return msg


def _joint_map(msg: JointState, field: str) -> dict:
    values = list(getattr(msg, field))
    if values and len(values) != len(msg.name):
        raise DecodeError(f'JointState {field} has {len(values)} values for '
                          f'{len(msg.name)} names')
    return dict(zip(msg.name, values))


def decode_tool_command(msg: JointState) -> ToolCommand:
    """Decode a tool command; raises DecodeError on missing joints or non-finite values."""
    vel = _joint_map(msg, 'velocity')
    pos = _joint_map(msg, 'position')
    try:
        cmd = ToolCommand(flail_speed=float(vel[topics.FLAIL_JOINT]),
                          tiller_speed=float(vel.get(topics.TILLER_JOINT, 0.0)),
                          depth=float(pos[topics.DEPTH_JOINT]))
    except KeyError as exc:
        raise DecodeError(f'tool command lacks joint {exc}') from None
    if not all(math.isfinite(v) for v in (cmd.flail_speed, cmd.tiller_speed, cmd.depth)):
        raise DecodeError('tool command has non-finite values')
    return cmd


def encode_tool_state(state: ToolState) -> JointState:
    """Encode measured tool joints (/tool/joint_states)."""
    msg = JointState()
    msg.header = make_header(state.stamp, '')
    msg.name = list(_TOOL_NAMES)
    msg.position = [0.0, 0.0, float(state.depth)]
    msg.velocity = [float(state.flail_speed), float(state.tiller_speed), 0.0]
    msg.effort = [float(state.flail_torque), float(state.tiller_torque), 0.0]
    if math.isfinite(state.arm):
        msg.name.append(topics.ARM_JOINT)
        msg.position.append(float(state.arm))
        msg.velocity.append(0.0)
        msg.effort.append(0.0)
    return msg


def decode_tool_state(msg: JointState) -> ToolState:
    """Decode measured tool joints; raises DecodeError on missing or non-finite values."""
    vel = _joint_map(msg, 'velocity')
    pos = _joint_map(msg, 'position')
    eff = _joint_map(msg, 'effort')
    try:
        state = ToolState(stamp=stamp_to_sec(msg.header.stamp),
                          flail_speed=float(vel[topics.FLAIL_JOINT]),
                          tiller_speed=float(vel.get(topics.TILLER_JOINT, 0.0)),
                          depth=float(pos[topics.DEPTH_JOINT]),
                          flail_torque=float(eff.get(topics.FLAIL_JOINT, 0.0)),
                          tiller_torque=float(eff.get(topics.TILLER_JOINT, 0.0)),
                          arm=float(pos.get(topics.ARM_JOINT, math.nan)))
    except KeyError as exc:
        raise DecodeError(f'tool state lacks joint {exc}') from None
    if math.isinf(state.arm):
        raise DecodeError('tool state has non-finite values')
    vals = (state.flail_speed, state.tiller_speed, state.depth, state.flail_torque,
            state.tiller_torque)
    if not all(math.isfinite(v) for v in vals):
        raise DecodeError('tool state has non-finite values')
    return state


# --- events ---------------------------------------------------------------------------------

def encode_event(ev: SimEvent) -> String:
    """Encode a simulator event as one JSON object (docs/interfaces.md, "Sim events")."""
    body = {'stamp': ev.stamp, 'kind': ev.kind, 'item_id': ev.item_id,
            'item_kind': ev.item_kind, 'x': ev.x, 'y': ev.y, 'detail': ev.detail}
    if ev.extra:
        body['extra'] = ev.extra
    return String(data=json.dumps(body, allow_nan=False))


def decode_event(msg: String) -> SimEvent:
    """Decode a simulator event; raises DecodeError on malformed JSON or fields."""
    try:
        body = json.loads(msg.data)
        ev = SimEvent(stamp=float(body['stamp']), kind=str(body['kind']),
                      item_id=str(body.get('item_id', '')),
                      item_kind=str(body.get('item_kind', '')),
                      x=float(body.get('x', 0.0)), y=float(body.get('y', 0.0)),
                      detail=str(body.get('detail', '')), extra=body.get('extra'))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DecodeError(f'malformed event: {exc}') from None
    if not (math.isfinite(ev.stamp) and math.isfinite(ev.x) and math.isfinite(ev.y)):
        raise DecodeError('event has non-finite values')
    return ev


def encode_safety_event(ev: SafetyEvent) -> String:
    """Encode a safety state transition (docs/interfaces.md, "Safety events")."""
    return String(data=json.dumps({'stamp': ev.stamp, 'state': SafetyState(ev.state).value,
                                   'reason': ev.reason}, allow_nan=False))


def encode_tool_event(ev: ToolEvent) -> String:
    """Encode a tool controller event (docs/interfaces.md, "Tool events")."""
    return String(data=json.dumps({'stamp': ev.stamp, 'kind': str(ev.kind),
                                   'detail': str(ev.detail)}, allow_nan=False))


def decode_tool_event(msg: String) -> ToolEvent:
    """Decode a tool controller event; raises DecodeError on malformed input."""
    try:
        body = json.loads(msg.data)
        ev = ToolEvent(stamp=float(body['stamp']), kind=str(body['kind']),
                       detail=str(body.get('detail', '')))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DecodeError(f'malformed tool event: {exc}') from None
    if not math.isfinite(ev.stamp) or not ev.kind:
        raise DecodeError('tool event without a finite stamp and a kind')
    return ev


def decode_safety_event(msg: String) -> SafetyEvent:
    """Decode a safety state transition; raises DecodeError on malformed input."""
    try:
        body = json.loads(msg.data)
        ev = SafetyEvent(stamp=float(body['stamp']), state=SafetyState(body['state']),
                         reason=str(body.get('reason', '')))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DecodeError(f'malformed safety event: {exc}') from None
    if not math.isfinite(ev.stamp):
        raise DecodeError('safety event has a non-finite stamp')
    return ev


# --- odometry, paths, grids -----------------------------------------------------------------

def odometry_to_state(msg: Odometry) -> VehicleState:
    """Convert nav_msgs/Odometry to a planar VehicleState; raises DecodeError on NaN."""
    p = msg.pose.pose.position
    q = msg.pose.pose.orientation
    state = VehicleState(stamp=stamp_to_sec(msg.header.stamp), x=p.x, y=p.y,
                         yaw=yaw_from_quaternion(q), v=msg.twist.twist.linear.x,
                         omega=msg.twist.twist.angular.z,
                         covariance_xy=max(msg.pose.covariance[0], msg.pose.covariance[7]))
    vals = (state.x, state.y, state.yaw, state.v, state.omega)
    if not all(math.isfinite(v) for v in vals):
        raise DecodeError('odometry has non-finite values')
    return state


def state_to_odometry(state: VehicleState, frame_id: str = topics.MAP_FRAME,
                      child_frame_id: str = topics.BASE_FRAME,
                      pose_covariance: Sequence[float] = ()) -> Odometry:
    """Convert a VehicleState to nav_msgs/Odometry (a 36-element covariance is optional)."""
    msg = Odometry()
    msg.header = make_header(state.stamp, frame_id)
    msg.child_frame_id = child_frame_id
    msg.pose.pose.position.x = float(state.x)
    msg.pose.pose.position.y = float(state.y)
    msg.pose.pose.orientation = quaternion_from_yaw(state.yaw)
    msg.twist.twist.linear.x = float(state.v)
    msg.twist.twist.angular.z = float(state.omega)
    if len(pose_covariance) == 36:
        msg.pose.covariance = [float(c) for c in pose_covariance]
    else:
        cov = [0.0] * 36
        cov[0] = cov[7] = float(state.covariance_xy)
        msg.pose.covariance = cov
    return msg


def path_to_xy(msg: Path) -> np.ndarray:
    """Return the (N, 3) x, y, yaw of a nav_msgs/Path; raises DecodeError on NaN.

    The yaw is the machine's facing on the leg from that pose: the leg's direction, or the
    opposite on a leg to be driven in reverse (as Nav2's reversing planners encode it).
    """
    rows = [[p.pose.position.x, p.pose.position.y, yaw_from_quaternion(p.pose.orientation)]
            for p in msg.poses]
    xy = np.array(rows, dtype=float).reshape(-1, 3)
    if not np.isfinite(xy).all():
        raise DecodeError('path has non-finite poses')
    return xy


def xy_to_path(xy: np.ndarray, stamp: float, frame_id: str = topics.MAP_FRAME) -> Path:
    """Build a nav_msgs/Path from (N, 2) positions or (N, 3) positions and facing yaw.

    Without a yaw column each pose's yaw points to the next waypoint (all legs forward).
    """
    xy = np.asarray(xy, dtype=float)
    facing = xy[:, 2] if xy.ndim == 2 and xy.shape[1] == 3 else None
    xy = xy[:, :2] if facing is not None else xy.reshape(-1, 2)
    header = make_header(stamp, frame_id)
    msg = Path(header=header)
    yaw = 0.0
    for i, (x, y) in enumerate(xy):
        if facing is not None:
            yaw = float(facing[i])
        elif i + 1 < len(xy):
            dx, dy = xy[i + 1] - xy[i]
            if dx or dy:
                yaw = math.atan2(dy, dx)
        ps = PoseStamped(header=header)
        ps.pose.position.x = float(x)
        ps.pose.position.y = float(y)
        ps.pose.orientation = quaternion_from_yaw(yaw)
        msg.poses.append(ps)
    return msg


def grid_to_occupancy(values: np.ndarray, origin_x: float, origin_y: float, resolution: float,
                      stamp: float, frame_id: str = topics.MAP_FRAME) -> OccupancyGrid:
    """Build a nav_msgs/OccupancyGrid from an int8 array (rows = y, columns = x, -1..100)."""
    values = np.asarray(values)
    msg = OccupancyGrid()
    msg.header = make_header(stamp, frame_id)
    msg.info.map_load_time = msg.header.stamp
    msg.info.resolution = float(resolution)
    msg.info.height, msg.info.width = int(values.shape[0]), int(values.shape[1])
    msg.info.origin.position.x = float(origin_x)
    msg.info.origin.position.y = float(origin_y)
    msg.info.origin.orientation.w = 1.0
    msg.data = np.clip(values, -1, 100).astype(np.int8).ravel().tobytes()
    return msg


def occupancy_to_grid(msg: OccupancyGrid) -> np.ndarray:
    """Return an OccupancyGrid's cells as an int8 array (rows = y, columns = x)."""
    h, w = msg.info.height, msg.info.width
    data = np.asarray(msg.data, dtype=np.int8)
    if data.size != h * w:
        raise DecodeError(f'occupancy grid has {data.size} cells, expected {h} x {w}')
    return data.reshape(h, w)
