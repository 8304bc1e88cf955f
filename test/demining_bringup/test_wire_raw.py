"""The wire's serialised forms are rclpy's: the same bytes out, the same values in.

The ROS host publishes :attr:`Wire.raw` bytes and decodes raw samples for the busiest topics
(:mod:`demining_bringup.contract.cdr`); these tests hold both ends to rclpy's serialisation of
the real messages on random, edge and malformed values (non-finite numbers, numpy scalars,
wrong types, stamps out of range, garbage) and on samples from another publisher (other
frames, a full covariance).
"""

import array
import math

import numpy as np
import pytest
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import JointState

from demining_bringup.contract import topics
from demining_bringup.contract.codec import DecodeError
from demining_bringup.contract.datatypes import (Garbage, GroundTruth, ImuSample, OdomSample,
                                                 ToolCommand, ToolState, Twist2D, VehicleState)
from demining_bringup.contract.wire import wires

from test_wire_fast import _same

NAN, INF = float('nan'), float('inf')
RAW_TOPICS = (topics.LOCALIZATION, topics.ODOM_TRACKS, topics.GROUND_TRUTH, topics.IMU,
              topics.CMD_VEL_AUTO, topics.CMD_VEL, topics.CMD_VEL_MUX, topics.CMD_VEL_TELEOP,
              topics.TOOL_COMMAND_AUTO, topics.TOOL_COMMAND, topics.TOOL_JOINT_STATES)
TWISTS = (topics.CMD_VEL_AUTO, topics.CMD_VEL, topics.CMD_VEL_MUX, topics.CMD_VEL_TELEOP)
TOOL_COMMANDS = (topics.TOOL_COMMAND_AUTO, topics.TOOL_COMMAND)
#: Stamps: ordinary, rounding at the nanosecond, negative (clamped), NaN, inf, past int32.
STAMPS = (12.345678901, 0.0, 1e-10, 0.9999999999, -3.0, NAN, INF, 3e9)


#: Strings before the doubles of each raw topic's message (header frame, child frame).
STRINGS = {topics.LOCALIZATION: 2, topics.ODOM_TRACKS: 2, topics.GROUND_TRUTH: 2, topics.IMU: 1,
           **{t: 0 for t in TWISTS}}
_HEADER, _STAMP = 4, 8


def _without_padding(data: bytes, strings: int) -> bytes:
    """``data`` with the alignment gap before its doubles zeroed (rclpy leaves it as it is)."""
    pos = _STAMP
    for _ in range(strings):
        pos += -pos % 4
        pos += 4 + int.from_bytes(data[_HEADER + pos:_HEADER + pos + 4], 'little')
    gap = -pos % 8
    return data[:_HEADER + pos] + b'\x00' * gap + data[_HEADER + pos + gap:]


def _fields(msg):
    """A message's fields, nested, floats by their repr (NaN equals NaN)."""
    if hasattr(msg, 'get_fields_and_field_types'):
        return tuple((name, _fields(getattr(msg, name)))
                     for name in msg.get_fields_and_field_types())
    if isinstance(msg, (list, tuple, array.array, np.ndarray)):
        return tuple(_fields(v) for v in msg)
    if isinstance(msg, float):
        return repr(float(msg))
    return msg


def _same_message(topic: str, raw: bytes, real: bytes) -> bool:
    """The same bytes but for alignment gaps (rclpy leaves them as they are), or, for a
    layout with sequences, as long and read back as the same message."""
    if topic in STRINGS:
        return _without_padding(raw, STRINGS[topic]) == _without_padding(real, STRINGS[topic])
    msg_type = wires()[topic].msg_type
    return len(raw) == len(real) and (_fields(deserialize_message(raw, msg_type))
                                      == _fields(deserialize_message(real, msg_type)))


def _outcome(fn):
    """('ok', value), or the exception's type and (for a decode error) its message."""
    try:
        return 'ok', fn()
    except DecodeError as exc:
        return 'DecodeError', str(exc)
    except (ValueError, TypeError, OverflowError, AssertionError, IndexError) as exc:
        return type(exc).__name__, ''


def _check(topic: str, value, now: float = 7.0) -> None:
    """The raw bytes are the real message's; decoding them gives the real value."""
    wire = wires()[topic]
    real = _outcome(lambda: serialize_message(wire.encode(value, now)))
    raw = _outcome(lambda: wire.raw.encode(value, now))
    assert real[0] == raw[0], (topic, value, real, raw)
    if real[0] != 'ok':
        return
    assert _same_message(topic, raw[1], real[1]), (topic, value)
    if wire.raw.decode is not None:
        _check_decode(topic, real[1])


def _check_decode(topic: str, data: bytes) -> None:
    wire = wires()[topic]
    real = _outcome(lambda: wire.decode(deserialize_message(data, wire.msg_type)))
    raw = _outcome(lambda: wire.raw.decode(data))
    assert real[0] == raw[0], (topic, real, raw)
    assert _same(real[1], raw[1]), (topic, real[1], raw[1])


def _values(rng: np.random.Generator, stamp: float):
    """One value of each raw topic at ``stamp``, with random fields."""
    a = rng.normal(size=12).tolist()
    cov = tuple(rng.normal(size=36).tolist())
    return [
        (topics.LOCALIZATION, VehicleState(stamp, a[0], a[1], a[2], a[3], a[4], abs(a[5]))),
        (topics.LOCALIZATION, VehicleState(stamp, a[0], a[1], a[2], pose_covariance=cov,
                                           twist_covariance=cov[::-1])),
        (topics.ODOM_TRACKS, OdomSample(stamp, a[0], a[1], a[2], a[3], a[4], abs(a[5]),
                                        abs(a[6]))),
        (topics.GROUND_TRUTH, GroundTruth(stamp, *a[:8])),
        (topics.IMU, ImuSample(stamp, tuple(a[:4]), tuple(a[4:7]), tuple(a[7:10]),
                               (abs(a[10]), abs(a[11]), 0.5), 0.01, 0.02)),
        *((t, Twist2D(a[0], a[1])) for t in TWISTS),
        *((t, ToolCommand(a[0], a[1], a[2])) for t in TOOL_COMMANDS),
        (topics.TOOL_JOINT_STATES, ToolState(stamp, *a[:5])),
        (topics.TOOL_JOINT_STATES, ToolState(stamp, *a[:6])),          # with the arm
    ]


@pytest.mark.parametrize('seed', range(20))
def test_random_values_serialise_and_decode_as_rclpy(seed):
    rng = np.random.default_rng(seed)
    for stamp in STAMPS:
        for topic, value in _values(rng, stamp):
            _check(topic, value)


@pytest.mark.parametrize('bad', [NAN, INF, -INF, np.float64(0.25), np.float32(0.25), 1, True,
                                 '0.5', None])
def test_non_finite_numpy_and_wrongly_typed_fields_take_the_real_path(bad):
    _check(topics.LOCALIZATION, VehicleState(1.0, bad, 2.0, bad, bad, 0.1, bad))
    _check(topics.LOCALIZATION, VehicleState(1.0, 1.0, 2.0, 0.3, pose_covariance=(bad,) * 36))
    _check(topics.ODOM_TRACKS, OdomSample(1.0, bad, 2.0, bad, 0.1, bad, bad, 0.2))
    _check(topics.GROUND_TRUTH, GroundTruth(1.0, 1.0, 2.0, bad, bad, 0.1, bad, 0.2, bad))
    _check(topics.IMU, ImuSample(1.0, (bad, 0.0, 0.0, 1.0), (0.0, bad, 0.0), (0.0, 0.0, bad),
                                 (bad, 0.1, 0.1), bad, 0.2))
    for topic in TWISTS:
        _check(topic, Twist2D(bad, 0.1))
        _check(topic, Twist2D(0.2, bad))
    for topic in TOOL_COMMANDS:
        _check(topic, ToolCommand(bad, 0.1, bad))
        _check(topic, ToolCommand(1.0, 0.1, 0.2), now=bad if isinstance(bad, float) else 3.0)
    _check(topics.TOOL_JOINT_STATES, ToolState(1.0, bad, 0.1, bad, 2.0, bad, bad))


def test_malformed_shapes_and_garbage_take_the_real_path():
    _check(topics.IMU, ImuSample(1.0, (0.0, 0.0, 1.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0),
                                 (0.1, 0.1, 0.1), 0.1, 0.2))
    _check(topics.IMU, ImuSample(1.0, (0.0, 0.0, 0.0, 1.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0),
                                 (0.1, 0.1), 0.1, 0.2))
    _check(topics.LOCALIZATION, VehicleState(1.0, 1.0, 2.0, 0.3, pose_covariance=(0.1,) * 35))
    for topic in RAW_TOPICS:
        _check(topic, Garbage(2.5))


def test_samples_of_another_publisher_decode_as_rclpy():
    msg = Odometry()
    msg.header.frame_id, msg.child_frame_id = 'world_ned', 'x'   # other frames and padding
    msg.header.stamp.sec, msg.header.stamp.nanosec = 7, 999_999_999
    msg.pose.pose.position.x, msg.pose.pose.position.y = 3.5, -1.25
    msg.pose.pose.orientation.z, msg.pose.pose.orientation.w = 0.6, 0.8
    msg.pose.covariance = np.arange(36, dtype=float)
    msg.twist.twist.linear.x, msg.twist.twist.angular.z = 0.4, -0.1
    for topic in (topics.LOCALIZATION, topics.ODOM_TRACKS):
        _check_decode(topic, serialize_message(msg))
        msg.header.frame_id = ''
        _check_decode(topic, serialize_message(msg))
    msg.pose.pose.position.x = math.nan
    _check_decode(topics.LOCALIZATION, serialize_message(msg))


@pytest.mark.parametrize('names, position, velocity, effort', [
    (['flail_rotor', 'tiller_rotor', 'tool_depth'], [0.0, 0.0, 0.2], [80.0, 1.0, 0.0], []),
    (['tool_depth', 'flail_rotor'], [0.3, 0.0], [], [1.0, 2.0]),       # another order, no speeds
    (['flail_rotor', 'tool_depth'], [0.0, math.inf], [5.0, 0.0], [0.0, 0.0]),
    (['flail_rotor'], [0.0, 0.2], [1.0], []),                          # sizes that differ
    (['tool_depth', 'arm_extension', 'flail_rotor', 'x'], [0.1, 0.4, 0.0, 9.0],
     [0.0, 0.0, 3.0, 1.0], [0.0] * 4),
    (['d\u00e9j\u00e0'], [], [], []),                                       # no joint of the tool
])
def test_joint_states_of_another_publisher_decode_as_rclpy(names, position, velocity, effort):
    msg = JointState(name=names, position=position, velocity=velocity, effort=effort)
    msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id = 4, 5, 'tool'
    for topic in (topics.TOOL_JOINT_STATES, *TOOL_COMMANDS):
        _check_decode(topic, serialize_message(msg))


def test_twists_of_another_publisher_decode_as_rclpy():
    msg = Twist()
    msg.linear.x, msg.linear.y, msg.angular.x, msg.angular.z = 0.5, 9.0, -2.0, math.nan
    for topic in TWISTS:
        _check_decode(topic, serialize_message(msg))


def test_every_raw_topic_keeps_its_real_codec():
    """A raw path is an addition: the real encoder and decoder stay (recording, other hosts)."""
    for topic in RAW_TOPICS:
        wire = wires()[topic]
        assert wire.raw is not None and wire.encode is not None and wire.decode is not None
