"""The wire's fast paths give exactly ``decode(encode(value))``: same values, same types.

The deterministic host delivers values through :class:`FastPath` instead of building ROS
messages; these tests hold it to the real round trip on random, edge and malformed values
(non-finite numbers, numpy scalars, empty batches, rounding of stamps to nanoseconds).
"""

import dataclasses
import math

import numpy as np
import pytest

from demining_bringup.contract import topics
from demining_bringup.contract.codec import DecodeError
from demining_bringup.contract.datatypes import (Detection, DetectionKind, Detections, GnssFix,
                                                 GprScan, Grid, Heartbeat, ImuSample, MdScan,
                                                 OdomSample, PeopleZone, PlanarPoints,
                                                 ToolCommand, ToolState, Twist2D, VehicleState)
from demining_bringup.contract.states import ZoneState
from demining_bringup.contract.wire import wires

NAN, INF = float('nan'), float('inf')


def _same(a, b) -> bool:
    """Equal values of the same types (NaN equals NaN; arrays by dtype, shape and bytes)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if dataclasses.is_dataclass(a):
        return all(_same(getattr(a, f.name), getattr(b, f.name))
                   for f in dataclasses.fields(a))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return repr(a) == repr(b)
    return a == b


def _outcome(fn, *args):
    """('ok', value), or the exception's type and (for a decode error) its message."""
    try:
        return 'ok', fn(*args)
    except DecodeError as exc:
        return 'DecodeError', str(exc)
    except (ValueError, OverflowError, AssertionError) as exc:
        return type(exc).__name__, ''


def _check(topic: str, value, now: float = 7.0) -> None:
    wire = wires()[topic]
    assert wire.fast is not None, topic
    real = _outcome(lambda: wire.decode(wire.encode(value, now)))
    fast = _outcome(lambda: wire.fast.unpack(wire.fast.pack(value, now)))
    assert real[0] == fast[0], (topic, value, real, fast)
    assert _same(real[1], fast[1]), (topic, value, real[1], fast[1])


def _floats(rng, k):
    """Random floats with the odd special value (NaN, inf, -0.0, numpy scalars)."""
    special = [NAN, INF, -INF, -0.0, 0.0, 1e-300, np.float64(2.5)]
    out = []
    for _ in range(k):
        u = rng.random()
        out.append(special[int(rng.integers(len(special)))] if u < 0.1
                   else float(rng.normal(scale=50.0)))
    return out


STAMPS = [0.0, 1e-10, 0.1, 0.3, 12.345678912345, 1357.9, 86400.123456789, 5.0000000005]


@pytest.mark.parametrize('seed', range(40))
def test_scalar_topics_match_the_real_round_trip(seed):
    rng = np.random.default_rng(seed)
    f = _floats(rng, 40)
    stamp = STAMPS[seed % len(STAMPS)] + (0.0 if seed % 2 else float(rng.random()))
    _check(topics.CMD_VEL, Twist2D(f[0], f[1]))
    _check(topics.CMD_VEL_AUTO, Twist2D(f[2], f[3]))
    _check(topics.CMD_VEL_MUX, Twist2D(1, 2))
    _check(topics.TOOL_COMMAND, ToolCommand(f[4], f[5], f[6]), now=stamp)
    _check(topics.TOOL_COMMAND_AUTO, ToolCommand(83.8, 0.0, 0.2), now=stamp)
    _check(topics.TOOL_JOINT_STATES, ToolState(stamp, f[7], f[8], f[9], f[10], f[11]))
    _check(topics.TOOL_JOINT_STATES, ToolState(stamp, 80.0, 0.0, 0.2, 1500.0, 0.0))
    _check(topics.ODOM_TRACKS, OdomSample(stamp, f[12], f[13], f[14], f[15], f[16],
                                          abs(f[17]), abs(f[18])))
    _check(topics.OPERATOR_HEARTBEAT, Heartbeat(stamp))
    yaw = float(rng.uniform(-4.0, 4.0))
    _check(topics.LOCALIZATION, VehicleState(stamp, f[19], f[20], yaw, f[21], f[22], 0.01))
    cov = tuple(float(v) for v in rng.random(36))
    _check(topics.LOCALIZATION, VehicleState(stamp, 1.0, 2.0, yaw, 0.4, 0.0, 0.5,
                                             pose_covariance=cov, twist_covariance=cov))
    _check(topics.LOCALIZATION, VehicleState(stamp, 1.0, 2.0, f[23], 0.4, 0.0, NAN))
    q = tuple(float(v) for v in rng.normal(size=4))
    _check(topics.IMU, ImuSample(stamp, q, (f[24], f[25], f[26]), (f[27], f[28], 9.81),
                                 (1e-4, 1e-4, np.float64(2e-3)), 1e-5, 1e-3))
    _check(topics.GNSS_FIX, GnssFix(stamp, 44.1 + f[29] * 1e-6, 17.9, f[30],
                                    (0.0004, 0.0004, 0.0016), status=2))
    _check(topics.GNSS_FIX, GnssFix(stamp, 44.1, 17.9, 300.0, (), status=-1))
    pts = [(f[31], f[32]), (float(rng.normal()), 3)]
    _check(topics.PEOPLE_DETECTIONS, PlanarPoints(stamp, pts, topics.BASE_FRAME))
    _check(topics.PEOPLE_DETECTIONS, PlanarPoints(stamp, [], topics.BASE_FRAME))


@pytest.mark.parametrize('seed', range(12))
def test_point_clouds_match_the_real_round_trip(seed):
    rng = np.random.default_rng(100 + seed)
    n, s = int(rng.integers(1, 30)), int(rng.integers(1, 300))
    amps = rng.normal(size=(n, s)).astype(np.float32)
    pos = rng.normal(size=(n, 3))
    offsets = -rng.random(n) * 0.1
    if seed % 3 == 0:
        amps[int(rng.integers(n)), int(rng.integers(s))] = np.nan
        pos[int(rng.integers(n)), 1] = np.inf
    stamp = STAMPS[seed % len(STAMPS)]
    gpr = GprScan(stamp=stamp, positions=pos, time_offsets=offsets,
                  channels=np.arange(n) % 8, sample_interval_ns=0.04 + 1e-9 * seed,
                  amplitudes=amps, frame_id='base_link' if seed % 2 else 'boom')
    _check(topics.GPR_TRACES, gpr)
    bad = dataclasses.replace(gpr, sample_interval_ns=-1.0)
    _check(topics.GPR_TRACES, bad)
    _check(topics.GPR_TRACES, dataclasses.replace(gpr, amplitudes=np.zeros((0, 0)),
                                                  positions=np.zeros((0, 3)),
                                                  time_offsets=np.zeros(0),
                                                  channels=np.zeros(0, dtype=int)))
    sig = rng.normal(size=n).astype(np.float32)
    if seed % 4 == 1:
        sig[0] = np.nan
    md = MdScan(stamp=stamp, positions=pos, time_offsets=offsets, channels=np.arange(n) % 8,
                signals=sig)
    _check(topics.MD_COILS, md)
    _check(topics.MD_COILS, MdScan(stamp, np.zeros((0, 3)), np.zeros(0), np.zeros(0, int),
                                   np.zeros(0, np.float32)))


def test_grids_match_the_real_round_trip():
    rng = np.random.default_rng(5)
    values = rng.integers(-5, 120, size=(37, 53)).astype(np.int16)
    _check(topics.COVERAGE_PROCESSED, Grid(3.3, values, -6.0, -6.5, 0.1))
    _check(topics.COVERAGE_PROCESSED, Grid(3.3, values.astype(np.int8), 1, 2, 0.25))


def test_mine_maps_match_the_real_round_trip():
    rng = np.random.default_rng(6)
    _check(topics.MINE_MAP, Grid(0.2, rng.integers(-1, 101, size=(20, 31)), 3.0, -4.0, 0.2))
    _check(topics.MINE_MAP, Grid(0.2, rng.random((8, 9)) * 130.0 - 10.0, 0.0, 0.0, 0.5))


@pytest.mark.parametrize('seed', range(12))
def test_detection_lists_match_the_real_round_trip(seed):
    rng = np.random.default_rng(200 + seed)
    f = _floats(rng, 80)
    kinds = list(DetectionKind)
    items = [Detection(x=f[8 * k], y=f[8 * k + 1], depth=f[8 * k + 2],
                       confidence=float(rng.uniform(-0.2, 1.2)) if k % 3 else f[8 * k + 3],
                       kind=kinds[int(rng.integers(len(kinds)))], source='gpr',
                       radius=abs(f[8 * k + 4]), id=int(rng.integers(0, 2 ** 31)),
                       strength=f[8 * k + 5], polarity=int(rng.integers(-1, 2)),
                       sigma_xy=f[8 * k + 6])
             for k in range(int(rng.integers(0, 10)))]
    stamp = STAMPS[seed % len(STAMPS)]
    for topic in (topics.DETECTIONS, topics.GPR_DETECTIONS, topics.MD_DETECTIONS):
        _check(topic, Detections(stamp, items))
    _check(topics.DETECTIONS, Detections(stamp, []))


def test_a_detection_of_no_known_kind_is_dropped_as_on_the_wire():
    odd = Detection(x=1.0, y=2.0, depth=0.1, confidence=0.5)
    odd.kind = 99                                   # an integer the wire carries, no kind
    _check(topics.DETECTIONS, Detections(1.0, [odd, Detection(3.0, 4.0, 0.2, 0.9)]))


@pytest.mark.parametrize('nearest', [0.0, 1.23456, 12.0005, INF, NAN, -0.0])
def test_people_zones_match_the_real_round_trip(nearest):
    for zone in ZoneState:
        _check(topics.PEOPLE_ZONE, PeopleZone(stamp=4.25, zone=zone.value,
                                              reason='person 3.2 m ahead', nearest_m=nearest,
                                              people=2))
    _check(topics.PEOPLE_ZONE, PeopleZone(stamp=NAN, zone=ZoneState.CLEAR.value, reason='',
                                          nearest_m=nearest, people=0))
    _check(topics.PEOPLE_ZONE, PeopleZone(stamp=1.0, zone='not a zone', reason='',
                                          nearest_m=nearest, people=0))


def test_each_subscriber_gets_its_own_value():
    fast = wires()[topics.GPR_TRACES].fast
    rng = np.random.default_rng(1)
    scan = GprScan(1.0, rng.normal(size=(4, 3)), np.zeros(4), np.arange(4), 0.04,
                   rng.normal(size=(4, 16)).astype(np.float32))
    packed = fast.pack(scan, 1.0)
    scan.amplitudes[:] = 0.0                    # the sender reuses its buffer
    a, b = fast.unpack(packed), fast.unpack(packed)
    assert np.abs(a.amplitudes).sum() > 0.0
    a.amplitudes[:] = 1.0
    assert not np.array_equal(a.amplitudes, b.amplitudes)


def test_a_grid_is_one_read_only_copy_shared_by_the_subscribers():
    fast = wires()[topics.COVERAGE_PROCESSED].fast
    values = np.zeros((3, 4), dtype=np.int8)
    packed = fast.pack(Grid(1.0, values, 0.0, 0.0, 0.1), 1.0)
    values[:] = 100                             # the sender changes its cache
    a, b = fast.unpack(packed), fast.unpack(packed)
    assert a.values is b.values and not a.values.any()
    with pytest.raises(ValueError):
        a.values[0, 0] = 100


def test_large_and_non_finite_stamps_match_the_real_round_trip():
    for stamp in (2.0 ** 31 + 0.5, 2.0 ** 40, NAN, INF, -3.0):
        _check(topics.DETECTIONS, Detections(stamp, [Detection(1.0, 2.0, 0.1, 0.5)]))
        _check(topics.TOOL_JOINT_STATES, ToolState(stamp=stamp, flail_speed=1.0))
        _check(topics.TOOL_COMMAND, ToolCommand(1.0, 0.0, 0.2), now=stamp)
        _check(topics.OPERATOR_HEARTBEAT, Heartbeat(stamp))
    assert math.isfinite(wires()[topics.OPERATOR_HEARTBEAT].fast.pack(Heartbeat(2.0), 0.0))


def test_the_plan_status_carries_the_paths_work_legs():
    from demining_bringup.contract.datatypes import PlanStatus
    wire = wires()[topics.COVERAGE_STATUS]
    st = PlanStatus(3.0, 'planned', 'ok', [('cut off', [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)])],
                    [(1.0, 2.0, 1.2)], waypoints=40, work=[(1, 12), (20, 39)])
    back = wire.decode(wire.encode(st, 3.0))
    assert back == st
    # a status from an older planner (no work legs) still reads: none known
    old = wire.encode(dataclasses.replace(st, waypoints=0, work=[]), 3.0)
    assert wire.decode(old).work == [] and wire.decode(old).waypoints == 0


@pytest.mark.parametrize('seed', range(8))
def test_detection_rows_decode_the_same_row_by_row_and_column_wise(seed):
    # the decoder takes short lists row by row and long ones column-wise: both must give the
    # same detections, types included, on any rows the wire can carry
    from demining_bringup.contract.codec import (_DET_DTYPE, _detections_columnwise,
                                                 _detections_rowwise)
    rng = np.random.default_rng(900 + seed)
    for n in (0, 1, 2, 5, 17, 64, 65, 130):
        rows = np.zeros(n, dtype=_DET_DTYPE)
        for name in ('x', 'y', 'z', 'confidence', 'radius', 'strength', 'polarity',
                     'sigma_xy'):
            rows[name] = _floats(rng, n)
        rows['kind'] = rng.integers(0, 7, n)                   # 0 and 5, 6: no kind
        rows['id'] = rng.integers(0, 2 ** 32, n, dtype=np.uint64)
        for source in ('fused', 'gpr'):
            assert _same(_detections_rowwise(rows, source),
                         _detections_columnwise(rows, source)), (seed, n)


def test_long_detection_lists_match_the_real_round_trip():
    rng = np.random.default_rng(77)
    f = _floats(rng, 8 * 150)
    kinds = list(DetectionKind)
    items = [Detection(x=f[8 * k], y=f[8 * k + 1], depth=f[8 * k + 2], confidence=f[8 * k + 3],
                       kind=kinds[k % len(kinds)], source='md', radius=abs(f[8 * k + 4]),
                       id=k, strength=f[8 * k + 5], polarity=int(rng.integers(-1, 2)),
                       sigma_xy=f[8 * k + 6])
             for k in range(150)]
    _check(topics.DETECTIONS, Detections(3.0, items))
