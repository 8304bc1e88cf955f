"""Progress along the direction of travel over a jittery map pose (along_track.py)."""

import math

import numpy as np
import pytest

from demining_perception.along_track import AlongTrack, Move


def walk(track, points):
    moves, total = [], 0.0
    for x, y in points:
        move, dist = track.advance(x, y)
        moves.append(move)
        total += dist
    return moves, total


@pytest.mark.parametrize('seed', range(5))
def test_fix_jitter_is_neither_distance_nor_a_reversal(seed):
    """A crawl at 0.04 m/s read every 0.1 s, the map pose jumping ~1.5 cm at each 5 Hz fix:
    summed step lengths made it travel three times its progress, and (in the GPR) every
    jump back was a reversal. At most one break a minute (the direction is not known
    before the first few centimetres)."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 60.0, 0.1)
    jump = rng.normal(0.0, 0.015, (len(t), 2))[(t * 5.0).astype(int)]
    pts = np.stack([0.04 * t, np.zeros_like(t)], axis=1) + jump
    moves, total = walk(AlongTrack(0.012, 0.1), pts.tolist())
    assert moves.count(Move.BREAK) <= 1
    assert abs(total - 0.04 * 60.0) < 0.25
    naive = float(np.sum(np.hypot(*np.diff(pts, axis=0).T)))
    assert naive > 2.0 * 0.04 * 60.0          # what summing the steps made of it


def test_backing_up_and_pivoting_break_the_scan():
    track = AlongTrack(0.012, 0.1)
    forward = [(0.02 * k, 0.0) for k in range(50)]
    moves, total = walk(track, forward)
    assert moves.count(Move.FORWARD) == 50 and math.isclose(total, 0.98, abs_tol=1e-9)
    back = [(0.98 - 0.02 * k, 0.0) for k in range(1, 10)]
    moves, _ = walk(track, back)
    assert moves.count(Move.BREAK) == 1 and moves[:4] == [Move.STILL] * 4
    # the direction is now backwards: going on backwards is progress
    assert track.advance(0.98 - 0.02 * 12, 0.0)[0] is Move.FORWARD
    # a pivot swings the sensor sideways
    x0 = 0.98 - 0.02 * 12
    moves, _ = walk(track, [(x0, 0.03 * k) for k in range(1, 6)])
    assert Move.BREAK in moves


def test_a_stopped_sensor_is_still():
    track = AlongTrack(0.012, 0.1)
    track.advance(1.0, 2.0)
    assert all(track.advance(1.0 + 0.005 * math.sin(k), 2.0)[0] is Move.STILL
               for k in range(100))
