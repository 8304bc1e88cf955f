"""PoseBuffer interpolation, extrapolation and transforms."""

import math

import numpy as np

from demining_bringup.contract.datatypes import VehicleState
from demining_perception.pose_buffer import PoseBuffer


def test_interpolates_position_and_yaw_across_pi():
    buf = PoseBuffer()
    buf.add(VehicleState(stamp=1.0, x=0.0, y=0.0, yaw=math.pi - 0.1))
    buf.add(VehicleState(stamp=2.0, x=1.0, y=2.0, yaw=-math.pi + 0.1))
    x, y, yaw, ok = buf.lookup(np.array([1.5, 0.5]))
    assert ok.tolist() == [True, False]
    assert x[0] == 0.5 and y[0] == 1.0
    assert abs(abs(yaw[0]) - math.pi) < 1e-9        # through pi, not through 0


def test_extrapolates_briefly_then_refuses():
    buf = PoseBuffer(max_extrapolation_s=0.3)
    buf.add(VehicleState(stamp=0.0, x=0.0, y=0.0, yaw=0.0, v=1.0))
    buf.add(VehicleState(stamp=0.1, x=0.1, y=0.0, yaw=0.0, v=1.0))
    x, _, _, ok = buf.lookup(np.array([0.3, 0.5]))
    assert ok.tolist() == [True, False]
    assert abs(x[0] - 0.3) < 1e-9


def test_to_map_rotates_offsets_and_drops_nan_poses():
    buf = PoseBuffer()
    assert not buf.add(VehicleState(stamp=0.0, x=math.nan, y=0.0, yaw=0.0))
    buf.add(VehicleState(stamp=0.0, x=10.0, y=5.0, yaw=math.pi / 2))
    buf.add(VehicleState(stamp=1.0, x=10.0, y=5.0, yaw=math.pi / 2))
    xy, ok = buf.to_map(np.array([[4.0, 1.0, 0.05]]), np.array([0.5]))
    assert ok[0]
    assert np.allclose(xy[0], [9.0, 9.0])


def test_gap_and_history_bound():
    buf = PoseBuffer(history_s=5.0, max_gap_s=1.0)
    for t in np.arange(0.0, 20.0, 0.05):
        buf.add(VehicleState(stamp=float(t), x=float(t), y=0.0, yaw=0.0))
    assert len(buf) <= 5.0 / 0.05 + 2
    buf.add(VehicleState(stamp=21.5, x=21.5, y=0.0, yaw=0.0))     # a 1.55 s gap
    _, _, _, ok = buf.lookup(np.array([21.0, 19.9]))
    assert ok.tolist() == [False, True]


def test_a_gap_left_behind_refuses_nothing():
    """Readings are refused across a gap only while both its poses are kept."""
    buf = PoseBuffer(history_s=2.0, max_gap_s=1.0)
    for k in list(range(60)) + list(range(90, 93)):         # 0 .. 2.95 s, then 4.5 .. 4.6 s
        buf.add(VehicleState(stamp=0.05 * k, x=0.05 * k, y=0.0, yaw=0.0))
    _, _, _, ok = buf.lookup(np.array([2.8, 4.0, 4.55]))
    assert ok.tolist() == [True, False, True]
    for k in range(93, 101):                                  # up to 5.0 s: 2.95 s is forgotten
        buf.add(VehicleState(stamp=0.05 * k, x=0.05 * k, y=0.0, yaw=0.0))
    x, _, _, ok = buf.lookup(np.array([4.0, 4.5, 4.75, 5.0]))
    assert ok.tolist() == [False, True, True, True]
    assert np.allclose(x[1:], [4.5, 4.75, 5.0])
