"""The serialised form (CDR) of the busiest messages, written and read without rclpy objects.

Over DDS a message costs more in Python than most components take to use it: rclpy turns
each received sample into a tree of message objects (an Odometry is fourteen objects and two
numpy arrays, ~60 us; the fused pose reaches nine nodes ten times a second) and a publisher
builds the same tree only to have it serialised. For the topics bound here the ROS host
publishes the bytes itself (``Publisher.publish`` takes ``bytes``) and subscribes with
``raw=True``: :attr:`RawPath.encode` returns exactly the bytes
``serialize_message(wire.encode(value, now))`` would, :attr:`RawPath.decode` exactly what
``wire.decode(deserialize_message(data))`` would return (types included: a fixed-size
covariance's items are numpy float64, as rclpy stores them) or raises the same
:class:`~demining_bringup.contract.codec.DecodeError`. A value the writer does not take as it
is (a garbage value, a non-float where the message field asserts a float, a stamp outside the
message's range) and a sample in another encoding than little-endian CDR take the real path,
so its errors are the real ones. ``test/demining_bringup/test_wire_raw.py`` holds both ends
to rclpy's serialisation.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np
from rclpy.serialization import deserialize_message, serialize_message

from demining_bringup.contract.codec import DecodeError
from demining_bringup.contract import codec, topics
from demining_bringup.contract.datatypes import (Garbage, GroundTruth, ImuSample, OdomSample,
                                                 ToolCommand, ToolState, Twist2D, VehicleState)
from demining_bringup.contract.geo import yaw_from_xyzw

#: Encapsulation of a sample: plain CDR, little endian (the two option bytes follow).
_CDR_LE = b'\x00\x01'
_OPTIONS = b'\x00\x00'
_ENCAPSULATION_BYTES = 4
_NS_PER_S = 1_000_000_000
_U32 = struct.Struct('<I')
_STAMP = struct.Struct('<iI')
_STAMP_BYTES = _STAMP.size
_U32_ALIGN = 4
_F64_ALIGN = 8
_F64_BYTES = 8
#: Doubles after an Odometry's frames: pose (7), its covariance (36), twist (6), its covariance.
_ODOM_DOUBLES = 85
_POSE_COV, _TWIST, _TWIST_COV = 7, 43, 49
#: Row-major 6x6 covariance indices of the x, y and yaw variances.
_COV_X, _COV_Y, _COV_YAW = 0, 7, 35
_COV_ITEMS = 36
#: Doubles after an Imu's frame: orientation (4) and covariance (9), angular velocity (3) and
#: covariance, linear acceleration (3) and covariance.
_IMU_DOUBLES = 37
_IMU_COV = 9
#: What reading a sample of an unexpected form raises (the real path then reads it).
_SAMPLE_ERRORS = (UnicodeDecodeError, struct.error)
#: The real path's errors on a value (caught only to let the real path raise them).
_VALUE_ERRORS = (ValueError, TypeError, OverflowError, IndexError, struct.error)


@dataclasses.dataclass(frozen=True)
class RawPath:
    """A topic's serialised form: ``encode(value, now) -> bytes``, ``decode(bytes) -> value``.

    ``decode`` is None where the stack has no subscriber (the real one is used if asked).
    """

    encode: Callable[[Any, float], bytes]
    decode: Optional[Callable[[bytes], Any]]


def _pad(pos: int, align: int) -> int:
    """Padding before an item aligned to ``align`` at payload position ``pos``."""
    return -pos % align


def _strings(pos: int, texts: Sequence[str]) -> Tuple[bytes, int]:
    """CDR strings written from payload position ``pos``: their bytes and the next position."""
    out = b''
    for text in texts:
        body = text.encode() + b'\x00'
        pad = _pad(pos, _U32_ALIGN)
        out += b'\x00' * pad + _U32.pack(len(body)) + body
        pos += pad + _U32.size + len(body)
    return out, pos


def _after_strings(data: bytes, pos: int, count: int) -> int:
    """Payload position after ``count`` CDR strings that start at ``pos``."""
    for _ in range(count):
        pos += _pad(pos, _U32_ALIGN)
        pos += _U32.size + _U32.unpack_from(data, _ENCAPSULATION_BYTES + pos)[0]
    return pos


class _Layout:
    """A message that is a header (stamp, frame), further strings, then only doubles."""

    def __init__(self, frames: Sequence[str], doubles: int) -> None:
        """Pre-build the frames' bytes; the doubles start 8-aligned after them."""
        mid, pos = _strings(_STAMP_BYTES, frames)
        mid += b'\x00' * _pad(pos, _F64_ALIGN)
        self._struct = struct.Struct(f'<2s2siI{len(mid)}s{doubles}d')
        self._mid = mid
        self._frames = len(frames)
        self._doubles = struct.Struct(f'<{doubles}d')

    def pack(self, t: float, values: Sequence[float]) -> bytes:
        """The sample stamped ``t`` (rounded to ns as ``codec.sec_to_stamp``) with ``values``."""
        ns = max(0, int(round(t * _NS_PER_S)))
        return self._struct.pack(_CDR_LE, _OPTIONS, ns // _NS_PER_S, ns % _NS_PER_S, self._mid,
                                 *values)

    def unpack(self, data: bytes) -> Tuple[float, tuple]:
        """The stamp (seconds, as ``codec.stamp_to_sec``) and the doubles of a sample."""
        sec, nanosec = _STAMP.unpack_from(data, _ENCAPSULATION_BYTES)
        pos = _after_strings(data, _STAMP_BYTES, self._frames)
        pos += _pad(pos, _F64_ALIGN)
        return (sec + nanosec * 1e-9,
                self._doubles.unpack_from(data, _ENCAPSULATION_BYTES + pos))


def _little_endian(data: bytes) -> bool:
    return data[:len(_CDR_LE)] == _CDR_LE


def _floats(*values: Any) -> bool:
    """True when every value is a float, as a message's float fields assert."""
    return all(isinstance(v, float) for v in values)


def raw_path(msg_type: type, encode: Callable[[Any, float], Any],
             decode: Optional[Callable[[Any], Any]],
             write: Callable[[Any, float], Optional[bytes]],
             read: Optional[Callable[[bytes], Any]]) -> RawPath:
    """The topic's :class:`RawPath` around its real ``encode`` and ``decode``.

    ``write(value, now)`` returns the bytes, or None (or raises) where the real path must
    decide; ``read(data)`` reads a little-endian CDR sample.
    """
    def encode_raw(value: Any, now: float) -> bytes:
        if not isinstance(value, Garbage):
            try:
                data = write(value, now)
            except _VALUE_ERRORS:
                data = None
            if data is not None:
                return data
        return serialize_message(encode(value, now))

    def decode_raw(data: bytes) -> Any:
        if _little_endian(data):
            try:
                return read(data)
            except _SAMPLE_ERRORS:
                pass                    # a name that is not UTF-8, a truncated sample
        return decode(deserialize_message(data, msg_type))
    return RawPath(encode_raw, decode_raw if read is not None and decode is not None else None)


# --- nav_msgs/Odometry ----------------------------------------------------------------------

def _odometry(state: VehicleState, z: float, quaternion: Sequence[float]) -> list:
    """The doubles of ``codec.state_to_odometry(state, ...)`` with position z and orientation."""
    values = [0.0] * _ODOM_DOUBLES
    values[0], values[1], values[2] = float(state.x), float(state.y), z
    values[3:7] = quaternion
    if len(state.pose_covariance) == _COV_ITEMS:
        values[_POSE_COV:_TWIST] = [float(c) for c in state.pose_covariance]
    else:
        values[_POSE_COV + _COV_X] = values[_POSE_COV + _COV_Y] = float(state.covariance_xy)
    values[_TWIST] = float(state.v)
    values[_TWIST + 5] = float(state.omega)
    if len(state.twist_covariance) == _COV_ITEMS:
        values[_TWIST_COV:] = [float(c) for c in state.twist_covariance]
    return values


def _yaw_quaternion(yaw: float) -> Tuple[float, float, float, float]:
    """``codec.quaternion_from_yaw`` as (x, y, z, w)."""
    return 0.0, 0.0, math.sin(yaw / 2.0), math.cos(yaw / 2.0)


def state_writer(frame_id: str, child_frame_id: str) -> Callable[[VehicleState, float], bytes]:
    """``wire._encode_state`` (the fused pose) as bytes."""
    layout = _Layout((frame_id, child_frame_id), _ODOM_DOUBLES)

    def write(state: VehicleState, now: float) -> bytes:
        return layout.pack(state.stamp, _odometry(state, 0.0, _yaw_quaternion(state.yaw)))
    return write


def odom_sample_writer(frame_id: str, child_frame_id: str
                       ) -> Callable[[OdomSample, float], bytes]:
    """``wire._encode_odom_sample`` (track odometry) as bytes."""
    layout = _Layout((frame_id, child_frame_id), _ODOM_DOUBLES)

    def write(s: OdomSample, now: float) -> bytes:
        cov = [0.0] * _COV_ITEMS
        cov[_COV_X] = cov[_COV_Y] = s.variance_xy
        cov[_COV_YAW] = s.variance_yaw
        state = VehicleState(stamp=s.stamp, x=s.x, y=s.y, yaw=s.yaw, v=s.v, omega=s.omega,
                             pose_covariance=cov)
        return layout.pack(s.stamp, _odometry(state, 0.0, _yaw_quaternion(s.yaw)))
    return write


def truth_writer(frame_id: str, child_frame_id: str
                 ) -> Callable[[GroundTruth, float], Optional[bytes]]:
    """``wire._encode_truth`` (the simulator's true pose) as bytes."""
    layout = _Layout((frame_id, child_frame_id), _ODOM_DOUBLES)

    def write(g: GroundTruth, now: float) -> Optional[bytes]:
        if not isinstance(g.z, float):      # assigned as it is: the message asserts a float
            return None
        cr, sr = math.cos(g.roll / 2.0), math.sin(g.roll / 2.0)
        cp, sp = math.cos(g.pitch / 2.0), math.sin(g.pitch / 2.0)
        cy, sy = math.cos(g.yaw / 2.0), math.sin(g.yaw / 2.0)
        # codec.quaternion_from_rpy, term for term
        q = (sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy,
             cr * cp * sy - sr * sp * cy, cr * cp * cy + sr * sp * sy)
        state = VehicleState(stamp=g.stamp, x=g.x, y=g.y, yaw=g.yaw, v=g.v, omega=g.omega)
        return layout.pack(g.stamp, _odometry(state, g.z, q))
    return write


#: Frames are skipped when reading: the Odometry decoders do not check them.
_ODOM_READER = _Layout(('', ''), _ODOM_DOUBLES)


def read_state(data: bytes) -> VehicleState:
    """``codec.odometry_to_state`` of a sample."""
    stamp, v = _ODOM_READER.unpack(data)
    state = VehicleState(stamp=stamp, x=v[0], y=v[1], yaw=yaw_from_xyzw(v[3], v[4], v[5], v[6]),
                         v=v[_TWIST], omega=v[_TWIST + 5],
                         covariance_xy=np.float64(max(v[_POSE_COV + _COV_X],
                                                      v[_POSE_COV + _COV_Y])))
    vals = (state.x, state.y, state.yaw, state.v, state.omega)
    if not all(math.isfinite(x) for x in vals):
        raise DecodeError('odometry has non-finite values')
    return state


def read_odom_sample(data: bytes) -> OdomSample:
    """``wire._decode_odom_sample`` of a sample."""
    stamp, v = _ODOM_READER.unpack(data)
    return OdomSample(stamp=stamp, x=v[0], y=v[1], yaw=yaw_from_xyzw(v[3], v[4], v[5], v[6]),
                      v=v[_TWIST], omega=v[_TWIST + 5],
                      variance_xy=np.float64(v[_POSE_COV + _COV_X]),
                      variance_yaw=np.float64(v[_POSE_COV + _COV_YAW]))


# --- sensor_msgs/Imu ------------------------------------------------------------------------

def imu_writer(frame_id: str) -> Callable[[ImuSample, float], Optional[bytes]]:
    """``wire._encode_imu`` as bytes."""
    layout = _Layout((frame_id,), _IMU_DOUBLES)

    def write(s: ImuSample, now: float) -> Optional[bytes]:
        qx, qy, qz, qw = s.orientation
        wx, wy, wz = s.angular_velocity
        ax, ay, az = s.linear_acceleration
        ov = s.orientation_variance
        g, a = s.angular_velocity_variance, s.linear_acceleration_variance
        ov0, ov1, ov2 = ov[0], ov[1], ov[2]
        if not _floats(qx, qy, qz, qw, wx, wy, wz, ax, ay, az, ov0, ov1, ov2, g, a):
            return None
        return layout.pack(s.stamp, (qx, qy, qz, qw, ov0, 0.0, 0.0, 0.0, ov1, 0.0, 0.0, 0.0,
                                     ov2, wx, wy, wz, g, 0.0, 0.0, 0.0, g, 0.0, 0.0, 0.0, g,
                                     ax, ay, az, a, 0.0, 0.0, 0.0, a, 0.0, 0.0, 0.0, a))
    return write


_IMU_READER = _Layout(('',), _IMU_DOUBLES)
_AV = 4 + _IMU_COV
_LA = _AV + 3 + _IMU_COV


def read_imu(data: bytes) -> ImuSample:
    """``wire._decode_imu`` of a sample."""
    stamp, v = _IMU_READER.unpack(data)
    f64 = np.float64
    return ImuSample(stamp=stamp, orientation=(v[0], v[1], v[2], v[3]),
                     angular_velocity=(v[_AV], v[_AV + 1], v[_AV + 2]),
                     linear_acceleration=(v[_LA], v[_LA + 1], v[_LA + 2]),
                     orientation_variance=(f64(v[4]), f64(v[8]), f64(v[12])),
                     angular_velocity_variance=f64(v[_AV + 3]),
                     linear_acceleration_variance=f64(v[_LA + 3]))


# --- geometry_msgs/Twist --------------------------------------------------------------------

#: linear x, y, z, angular x, y, z from the payload's start.
_TWIST_MSG = struct.Struct('<2s2s6d')


def write_twist(cmd: Twist2D, now: float) -> bytes:
    """``wire._encode_twist`` as bytes."""
    return _TWIST_MSG.pack(_CDR_LE, _OPTIONS, float(cmd.v), 0.0, 0.0, 0.0, 0.0, float(cmd.omega))


def read_twist(data: bytes) -> Twist2D:
    """``wire._decode_twist`` of a sample."""
    v, _, _, _, _, omega = _TWIST_MSG.unpack(data)[2:]
    return Twist2D(v, omega)


# --- sensor_msgs/JointState (the tool's joints) ---------------------------------------------

class _Stamp:
    """The header's stamp as rclpy gives it to the decoders (``sec``, ``nanosec``)."""

    __slots__ = ('sec', 'nanosec')

    def __init__(self, sec: int, nanosec: int) -> None:
        self.sec, self.nanosec = sec, nanosec


class _Header:
    __slots__ = ('stamp', 'frame_id')

    def __init__(self, stamp: _Stamp, frame_id: str) -> None:
        self.stamp, self.frame_id = stamp, frame_id


class _Joints:
    """A JointState sample read for :mod:`codec`'s decoders: the fields they use."""

    __slots__ = ('header', 'name', 'position', 'velocity', 'effort')


def _text(data: bytes, pos: int) -> Tuple[str, int]:
    """The CDR string at payload ``pos`` and the position after it."""
    pos += _pad(pos, _U32_ALIGN)
    size = _U32.unpack_from(data, _ENCAPSULATION_BYTES + pos)[0]
    start = _ENCAPSULATION_BYTES + pos + _U32.size
    return data[start:start + size - 1].decode(), pos + _U32.size + size


def _doubles(data: bytes, pos: int) -> Tuple[List[float], int]:
    """The sequence of doubles at payload ``pos`` (python floats) and the position after it."""
    pos += _pad(pos, _U32_ALIGN)
    n = _U32.unpack_from(data, _ENCAPSULATION_BYTES + pos)[0]
    pos += _U32.size
    pos += _pad(pos, _F64_ALIGN)        # even for no items, as Fast CDR writes them
    values = list(struct.unpack_from(f'<{n}d', data, _ENCAPSULATION_BYTES + pos))
    return values, pos + n * _F64_BYTES


def _read_joints(data: bytes) -> _Joints:
    """A JointState sample with the fields the decoders read, as rclpy's message has them."""
    sec, nanosec = _STAMP.unpack_from(data, _ENCAPSULATION_BYTES)
    frame_id, pos = _text(data, _STAMP_BYTES)
    pos += _pad(pos, _U32_ALIGN)
    count = _U32.unpack_from(data, _ENCAPSULATION_BYTES + pos)[0]
    pos += _U32.size
    msg = _Joints()
    msg.header = _Header(_Stamp(sec, nanosec), frame_id)
    msg.name = []
    for _ in range(count):
        name, pos = _text(data, pos)
        msg.name.append(name)
    msg.position, pos = _doubles(data, pos)
    msg.velocity, pos = _doubles(data, pos)
    msg.effort, pos = _doubles(data, pos)
    return msg


class _JointsLayout:
    """JointState samples in no frame with fixed joint names: the stamp and values vary."""

    def __init__(self, names: Sequence[str]) -> None:
        """Pre-build everything up to the first sequence of values."""
        head, pos = _strings(_STAMP_BYTES, ('',))
        gap = _pad(pos, _U32_ALIGN)
        head += b'\x00' * gap + _U32.pack(len(names))
        body, self._end = _strings(pos + gap + _U32.size, names)
        head += body
        self._head = struct.Struct(f'<2s2siI{len(head)}s')
        self._head_bytes = head

    def pack(self, t: float, sequences: Sequence[Sequence[float]]) -> bytes:
        """The sample stamped ``t`` (as ``codec.sec_to_stamp``) with the three sequences."""
        ns = max(0, int(round(t * _NS_PER_S)))
        out = [self._head.pack(_CDR_LE, _OPTIONS, ns // _NS_PER_S, ns % _NS_PER_S,
                               self._head_bytes)]
        pos = self._end
        for values in sequences:
            gap = _pad(pos, _U32_ALIGN)
            out.append(b'\x00' * gap + _U32.pack(len(values)))
            pos += gap + _U32.size
            gap = _pad(pos, _F64_ALIGN)         # even for no items, as Fast CDR writes them
            out.append(b'\x00' * gap + struct.pack(f'<{len(values)}d', *values))
            pos += gap + len(values) * _F64_BYTES
        return b''.join(out)


#: The tool's joints in the codec's order (the tests compare the bytes with its messages).
_TOOL_JOINTS = (topics.FLAIL_JOINT, topics.TILLER_JOINT, topics.DEPTH_JOINT)
_TOOL = _JointsLayout(_TOOL_JOINTS)
_TOOL_ARM = _JointsLayout(_TOOL_JOINTS + (topics.ARM_JOINT,))


def write_tool_command(cmd: ToolCommand, now: float) -> bytes:
    """``codec.encode_tool_command(cmd, now)`` as bytes (no efforts)."""
    return _TOOL.pack(now, ((0.0, 0.0, float(cmd.depth)),
                            (float(cmd.flail_speed), float(cmd.tiller_speed), 0.0), ()))


def write_tool_state(state: ToolState, now: float) -> bytes:
    """``codec.encode_tool_state`` as bytes."""
    position = [0.0, 0.0, float(state.depth)]
    velocity = [float(state.flail_speed), float(state.tiller_speed), 0.0]
    effort = [float(state.flail_torque), float(state.tiller_torque), 0.0]
    layout = _TOOL
    if math.isfinite(state.arm):
        layout = _TOOL_ARM
        position.append(float(state.arm))
        velocity.append(0.0)
        effort.append(0.0)
    return layout.pack(state.stamp, (position, velocity, effort))


def read_tool_command(data: bytes) -> ToolCommand:
    """``codec.decode_tool_command`` of a sample."""
    return codec.decode_tool_command(_read_joints(data))


def read_tool_state(data: bytes) -> ToolState:
    """``codec.decode_tool_state`` of a sample."""
    return codec.decode_tool_state(_read_joints(data))


__all__ = ['RawPath', 'imu_writer', 'odom_sample_writer', 'raw_path', 'read_imu',
           'read_odom_sample', 'read_state', 'read_tool_command', 'read_tool_state',
           'read_twist', 'state_writer', 'truth_writer', 'write_tool_command',
           'write_tool_state', 'write_twist']
