"""Round trips and malformed-input handling of every documented layout."""

import dataclasses
import math

import numpy as np
import pytest
from sensor_msgs.msg import JointState, PointCloud2, PointField
from std_msgs.msg import String

from demining_bringup.contract import codec, topics
from demining_bringup.contract.datatypes import (Detection, DetectionKind, GprScan, MdScan,
                                                 SafetyEvent, SimEvent, ToolCommand, ToolState,
                                                 VehicleState)
from demining_bringup.contract.states import SafetyState


def _gpr(n=16, s=64):
    rng = np.random.default_rng(0)
    return GprScan(stamp=12.25, positions=rng.normal(size=(n, 3)),
                   time_offsets=-np.arange(n) * 0.04, channels=np.arange(n) % 8,
                   sample_interval_ns=0.04,
                   amplitudes=rng.normal(size=(n, s)).astype(np.float32))


def test_gpr_round_trip_keeps_every_value():
    scan = _gpr()
    msg = codec.encode_gpr_scan(scan)
    assert msg.width == 16 and msg.point_step == 4 * (6 + 64)
    assert [f.name for f in msg.fields][-1] == 'amplitude' and msg.fields[-1].count == 64
    out = codec.decode_gpr_scan(msg)
    assert out.stamp == pytest.approx(12.25)
    np.testing.assert_array_equal(out.amplitudes, scan.amplitudes)
    np.testing.assert_allclose(out.positions, scan.positions, atol=1e-6)
    np.testing.assert_array_equal(out.channels, scan.channels)
    assert out.sample_interval_ns == pytest.approx(0.04)


def test_gpr_traces_with_nan_are_dropped_not_fatal():
    scan = _gpr()
    scan.amplitudes[3, 5] = np.nan
    out = codec.decode_gpr_scan(codec.encode_gpr_scan(scan))
    assert len(out.amplitudes) == 15 and 3 not in out.time_offsets.round(3) / -0.04


def test_empty_gpr_batch_round_trips():
    scan = GprScan(stamp=1.0, positions=np.zeros((0, 3)), time_offsets=np.zeros(0),
                   channels=np.zeros(0, int), sample_interval_ns=0.04,
                   amplitudes=np.zeros((0, 0), np.float32))
    assert len(codec.decode_gpr_scan(codec.encode_gpr_scan(scan)).amplitudes) == 0


def test_truncated_cloud_is_a_decode_error():
    msg = codec.encode_gpr_scan(_gpr())
    msg.data = bytes(msg.data)[:-4]
    with pytest.raises(codec.DecodeError, match='size'):
        codec.decode_gpr_scan(msg)


def test_cloud_without_required_fields_is_a_decode_error():
    msg = PointCloud2(width=1, height=1, point_step=4,
                      fields=[PointField(name='x', offset=0, datatype=7, count=1)],
                      data=b'\0\0\0\0')
    with pytest.raises(codec.DecodeError, match='lacks fields'):
        codec.decode_md_scan(msg)


def test_md_round_trip():
    scan = MdScan(stamp=3.5, positions=np.ones((8, 3)), time_offsets=np.zeros(8),
                  channels=np.arange(8), signals=np.linspace(0, 7, 8).astype(np.float32))
    out = codec.decode_md_scan(codec.encode_md_scan(scan))
    np.testing.assert_array_equal(out.signals, scan.signals)
    assert out.frame_id == 'base_link'


def test_detections_round_trip_and_bad_rows_dropped():
    dets = [Detection(1.0, 2.0, 0.08, 0.9, DetectionKind.AP, id=4, radius=0.06, strength=12.0),
            Detection(3.0, 4.0, 0.2, 0.5, DetectionKind.AT, id=5),
            Detection(float('nan'), 0.0, 0.1, 0.5)]
    out = codec.decode_detections(codec.encode_detections(dets, 7.0), source='gpr')
    assert len(out) == 2
    assert out[0].kind is DetectionKind.AP and out[0].id == 4
    assert out[0].depth == pytest.approx(0.08) and out[0].source == 'gpr'
    assert out[1].kind is DetectionKind.AT


def test_a_gpr_reports_narrowest_allowed_top_crosses_the_wire():
    """radius_min (the narrowest flat top an open fit allows) reaches the fusion, row by row
    and column-wise; a peer's list without the field, or a bad value, reads as no bound."""
    det = Detection(1.0, 2.0, 0.05, 0.99, source='gpr', radius=float('nan'), strength=99.0,
                    polarity=1, radius_min=0.14)
    for n in (1, 100):          # a short list is decoded row by row, a long one by column
        out = codec.decode_detections(codec.encode_detections([det] * n, 7.0), source='gpr')
        assert len(out) == n and all(d.radius_min == pytest.approx(0.14) for d in out)
        assert math.isnan(out[0].radius)
    bad = dataclasses.replace(det, radius_min=float('nan'))
    assert codec.decode_detections(codec.encode_detections([bad], 7.0))[0].radius_min == 0.0
    msg = codec.encode_detections([det], 7.0)
    legacy = [f for f in msg.fields if f.name != 'radius_min']
    step = max(f.offset for f in legacy) + 4
    rows = np.frombuffer(bytes(msg.data), dtype=np.uint8).reshape(1, msg.point_step)
    old = PointCloud2(header=msg.header, height=1, width=1, fields=legacy, is_bigendian=False,
                      point_step=step, row_step=step, data=rows[:, :step].tobytes(),
                      is_dense=True)
    (back,) = codec.decode_detections(old, source='gpr')
    assert back.radius_min == 0.0 and back.strength == pytest.approx(99.0)


def test_tool_command_and_state_round_trip():
    cmd = ToolCommand(flail_speed=83.8, tiller_speed=10.0, depth=0.15)
    assert codec.decode_tool_command(codec.encode_tool_command(cmd, 1.0)) == cmd
    state = ToolState(stamp=2.0, flail_speed=80.0, depth=0.14, flail_torque=900.0)
    back = codec.decode_tool_state(codec.encode_tool_state(state))
    assert math.isnan(back.arm) and dataclasses.replace(back, arm=0.0) == \
        dataclasses.replace(state, arm=0.0)
    # the arm's position sensor is an optional joint
    state = dataclasses.replace(state, arm=0.12)
    msg = codec.encode_tool_state(state)
    assert topics.ARM_JOINT in msg.name and codec.decode_tool_state(msg) == state
    msg.position[-1] = math.inf
    with pytest.raises(codec.DecodeError):
        codec.decode_tool_state(msg)


@pytest.mark.parametrize('mutate', [
    lambda m: setattr(m, 'name', ['flail_rotor']),
    lambda m: m.velocity.__setitem__(0, math.nan),
    lambda m: setattr(m, 'position', [0.0]),
])
def test_malformed_tool_messages_are_decode_errors(mutate):
    msg = codec.encode_tool_command(ToolCommand(1.0, 0.0, 0.1), 0.0)
    mutate(msg)
    with pytest.raises(codec.DecodeError):
        codec.decode_tool_command(msg)


def test_tool_command_without_depth_joint_is_a_decode_error():
    msg = JointState(name=['flail_rotor'], velocity=[1.0], position=[0.0])
    with pytest.raises(codec.DecodeError, match='tool_depth'):
        codec.decode_tool_command(msg)


def test_event_round_trip_and_garbage():
    ev = SimEvent(stamp=5.0, kind='neutralised', item_id='pmn_1', item_kind='AP', x=1.0, y=2.0)
    assert codec.decode_event(codec.encode_event(ev)) == ev
    for garbage in ('not json', '{"kind": "x"}', '[]', '{"stamp": NaN, "kind": "x"}'):
        with pytest.raises(codec.DecodeError):
            codec.decode_event(String(data=garbage))


def test_odometry_round_trip_and_nan():
    st = VehicleState(stamp=4.0, x=1.0, y=-2.0, yaw=2.5, v=0.4, omega=-0.1, covariance_xy=0.01)
    out = codec.odometry_to_state(codec.state_to_odometry(st))
    assert out.yaw == pytest.approx(2.5) and out.covariance_xy == pytest.approx(0.01)
    msg = codec.state_to_odometry(st)
    msg.pose.pose.position.x = math.nan
    with pytest.raises(codec.DecodeError):
        codec.odometry_to_state(msg)


def test_path_and_grid():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    path = codec.xy_to_path(xy, 1.0)
    back = codec.path_to_xy(path)
    np.testing.assert_allclose(back[:, :2], xy)
    # without facings every leg is forward: the yaw points along it (the last keeps the one before)
    np.testing.assert_allclose(back[:, 2], [0.0, math.pi / 2, math.pi / 2], atol=1e-12)
    # with facings they travel as given: a leg facing against its direction is a reverse leg
    rev = np.array([[0.0, 0.0, math.pi], [1.0, 0.0, math.pi], [1.0, 1.0, math.pi]])
    np.testing.assert_allclose(codec.path_to_xy(codec.xy_to_path(rev, 1.0)), rev, atol=1e-12)
    grid = np.arange(12, dtype=np.int8).reshape(3, 4)
    msg = codec.grid_to_occupancy(grid, -1.0, 2.0, 0.5, 3.0)
    assert (msg.info.width, msg.info.height) == (4, 3)
    np.testing.assert_array_equal(codec.occupancy_to_grid(msg), grid)


def test_quaternion_from_rpy_matches_yaw_only():
    q1 = codec.quaternion_from_rpy(0.0, 0.0, 1.2)
    q2 = codec.quaternion_from_yaw(1.2)
    assert (q1.x, q1.y, q1.z, q1.w) == pytest.approx((q2.x, q2.y, q2.z, q2.w))


def test_stamps():
    assert codec.stamp_to_sec(codec.sec_to_stamp(1234.000000001)) == pytest.approx(1234.0)
    assert codec.sec_to_stamp(-1.0).sec == 0


def test_safety_event_round_trip_and_garbage():
    msg = codec.encode_safety_event(SafetyEvent(3.5, SafetyState.PROTECTIVE_STOP,
                                                'heartbeat lost'))
    assert codec.decode_safety_event(msg) == SafetyEvent(3.5, SafetyState.PROTECTIVE_STOP,
                                                         'heartbeat lost')
    for garbage in ('', '{"state": "ok"}', '{"stamp": "x", "state": "ok"}',
                    '{"stamp": 1.0, "state": "unknown"}'):
        with pytest.raises(codec.DecodeError):
            codec.decode_safety_event(String(data=garbage))
