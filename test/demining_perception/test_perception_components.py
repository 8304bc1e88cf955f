"""The perception components through ComponentRuntime (no ROS): ports, timers, lifecycle."""

import dataclasses
import json
import math

import numpy as np
import pytest

from perception_synth import (CH_Y, Obj, gpr_batches, md_batches, metal_k_for, pose_at)
from demining_bringup.contract.datatypes import (Detection, DetectionKind, Detections, GnssFix,
                                                 Grid, ImuSample, OdomSample, VehicleState)
from demining_bringup.contract.geo import LocalCartesian
from demining_bringup.contract.states import DiagLevel
from demining_bringup.contract.world import WorldError
from demining_bringup.hosts.runtime import ComponentRuntime, RecordingLog
from demining_perception.fusion_node import FusionComponent
from demining_perception.gpr_processor_node import GprProcessorComponent
from demining_perception.input_monitor import InputMonitor
from demining_perception.localization_node import LocalizationComponent
from demining_perception.md_processor_node import MdProcessorComponent

ORIGIN = (45.0, 16.0, 100.0)
#: The hazard field of the test area, in map (ENU from ORIGIN); its size is no multiple of
#: the test grid's resolution, so the geodetic round trip cannot change the cell count.
FIELD = [(0.0, 0.0), (29.8, 0.0), (29.8, 19.8), (0.0, 19.8)]
NOT_PROVIDED = -1.0


def runtime(cls):
    out, log = [], RecordingLog()
    rt = ComponentRuntime(cls, sink=lambda port, value: out.append((port, value)), log=log)
    return rt, out, log


@pytest.fixture
def area_file(tmp_path):
    """A GeoJSON hazard area whose origin is ORIGIN."""
    lc = LocalCartesian(*ORIGIN)
    ring = []
    for x, y in FIELD + FIELD[:1]:
        lat, lon, _ = lc.to_geodetic(x, y, 0.0)
        ring.append([float(lon), float(lat)])
    doc = {'type': 'Feature', 'properties': {'name': 'test', 'origin': list(ORIGIN)},
           'geometry': {'type': 'Polygon', 'coordinates': [ring]}}
    path = tmp_path / 'area.geojson'
    path.write_text(json.dumps(doc))
    return str(path)


# -- localization -------------------------------------------------------------------------

def gnss_at(x, y, t, covariance=(), status=0):
    lat, lon, alt = LocalCartesian(*ORIGIN).to_geodetic(x, y, 0.0)
    return GnssFix(stamp=t, latitude=float(lat), longitude=float(lon), altitude=float(alt),
                   covariance=covariance, status=status)


def imu_at(t, yaw=0.0, omega=0.0, yaw_var=0.0004, omega_var=0.0001):
    q = (0.0, 0.0, math.sin(yaw / 2.0), math.cos(yaw / 2.0))
    return ImuSample(stamp=t, orientation=q, angular_velocity=(0.0, 0.0, omega),
                     linear_acceleration=(0.0, 0.0, 9.81),
                     orientation_variance=(yaw_var, yaw_var, yaw_var),
                     angular_velocity_variance=omega_var, linear_acceleration_variance=0.01)


def odom_at(t, v=0.0, omega=0.0):
    return OdomSample(stamp=t, x=0.0, y=0.0, yaw=0.0, v=v, omega=omega, variance_xy=0.01,
                      variance_yaw=0.01)


def poses(out):
    return [v for port, v in out if port == 'pose']


def test_localization_publishes_pose_with_covariances_after_inputs(area_file):
    rt, out, log = runtime(LocalizationComponent)
    # The origin parameters stay at (0, 0): the map origin must come from the area file.
    rt.configure({'area_file': area_file, 'publish_rate_hz': 20.0})
    assert rt.periods == {'publish': pytest.approx(0.05)}
    rt.activate(0.0)
    rt.fire('publish', 0.05)
    assert out == []                                  # nothing before the first GNSS fix
    rt.deliver('odom', odom_at(0.1, v=0.4), 0.1)
    rt.deliver('imu', imu_at(0.1, yaw=0.3), 0.1)
    rt.deliver('gnss', gnss_at(12.0, -3.0, 0.2), 0.2)
    assert log.has('info', 'initialised')
    rt.deliver('odom', odom_at(0.25, v=0.4), 0.25)
    rt.deliver('imu', imu_at(0.25, yaw=0.3), 0.25)
    rt.fire('publish', 0.3)
    [state] = poses(out)
    assert isinstance(state, VehicleState) and state.stamp == pytest.approx(0.3)
    assert state.x == pytest.approx(12.0, abs=0.05) and state.y == pytest.approx(-3.0, abs=0.05)
    assert state.yaw == pytest.approx(0.3, abs=0.02)
    assert state.v > 0.1
    P = rt.component.core.predicted(0.3)[1]
    assert len(state.pose_covariance) == 36
    assert state.pose_covariance == pytest.approx(rt.component.core.pose_covariance(P))
    assert len(state.twist_covariance) == 36
    assert state.twist_covariance[0] == pytest.approx(P[3, 3])
    assert state.twist_covariance[35] == pytest.approx(P[4, 4])
    assert sum(1 for c in state.twist_covariance if c != 0.0) == 2
    level, message, values = rt.diagnostics(0.3)
    assert level == DiagLevel.OK and message == 'ok'
    assert values['outcome initialised'] == '1' and values['lifecycle_state'] == 'active'
    assert 'position_sigma_m' in values
    assert float(values['ground_speed_ratio']) == pytest.approx(1.0)
    assert float(values['imu_heading_error_deg']) == pytest.approx(0.0)


def test_localization_reads_gnss_covariance_and_refuses_no_fix(area_file):
    rt, out, log = runtime(LocalizationComponent)
    rt.configure({'area_file': area_file})
    rt.activate(0.0)
    rt.deliver('gnss', gnss_at(1.0, 2.0, 0.1, status=-1), 0.1)     # STATUS_NO_FIX
    rt.fire('publish', 0.1)
    assert out == [] and log.has('warning', 'gnss: invalid')
    level, message, _ = rt.diagnostics(0.1)
    assert level == DiagLevel.WARN and 'not initialised' in message
    rt.deliver('gnss', gnss_at(1.0, 2.0, 0.2, covariance=(0.01, 0.04, 0.1)), 0.2)
    rt.fire('publish', 0.2)
    [state] = poses(out)
    # Published at the fix time: the covariance is the fix's east / north variances.
    assert state.pose_covariance[0] == pytest.approx(0.01)
    assert state.pose_covariance[7] == pytest.approx(0.04)


def test_localization_without_gnss_covariance_uses_gnss_sigma(area_file):
    rt, out, _ = runtime(LocalizationComponent)
    rt.configure({'area_file': area_file, 'gnss_sigma_m': 0.2})
    rt.activate(0.0)
    rt.deliver('gnss', gnss_at(1.0, 2.0, 0.2, covariance=()), 0.2)
    rt.fire('publish', 0.2)
    [state] = poses(out)
    assert state.pose_covariance[0] == pytest.approx(0.04)


@pytest.mark.parametrize('yaw_var, expected_yaw', [(0.0004, 1.0), (NOT_PROVIDED, 0.0)])
def test_localization_imu_yaw_only_when_provided(area_file, yaw_var, expected_yaw):
    # REP-145: orientation_covariance[0] == -1 means the IMU has no orientation estimate.
    rt, out, _ = runtime(LocalizationComponent)
    rt.configure({'area_file': area_file})
    rt.activate(0.0)
    rt.deliver('imu', imu_at(0.1, yaw=1.0, yaw_var=yaw_var), 0.1)
    rt.deliver('gnss', gnss_at(0.0, 0.0, 0.2), 0.2)
    rt.fire('publish', 0.2)
    assert poses(out)[-1].yaw == pytest.approx(expected_yaw, abs=1e-6)


@pytest.mark.parametrize('omega_var, moved', [(0.0001, True), (NOT_PROVIDED, False)])
def test_localization_imu_rate_only_when_provided(area_file, omega_var, moved):
    rt, out, _ = runtime(LocalizationComponent)
    rt.configure({'area_file': area_file})
    rt.activate(0.0)
    rt.deliver('gnss', gnss_at(0.0, 0.0, 0.1), 0.1)
    rt.deliver('imu', imu_at(0.2, omega=0.5, omega_var=omega_var), 0.2)
    rt.fire('publish', 0.2)
    omega = poses(out)[-1].omega
    assert (omega > 0.3) if moved else omega == pytest.approx(0.0)


def test_localization_uses_origin_parameters_without_area_file():
    rt, out, _ = runtime(LocalizationComponent)
    rt.configure({'origin_latitude_deg': ORIGIN[0], 'origin_longitude_deg': ORIGIN[1],
                  'origin_altitude_m': ORIGIN[2]})
    rt.activate(0.0)
    rt.deliver('gnss', gnss_at(5.0, 6.0, 0.1), 0.1)
    rt.fire('publish', 0.1)
    state = poses(out)[-1]
    assert (state.x, state.y) == (pytest.approx(5.0, abs=1e-3), pytest.approx(6.0, abs=1e-3))


def test_localization_refuses_a_missing_area_file(tmp_path):
    rt, _, _ = runtime(LocalizationComponent)
    with pytest.raises(WorldError):
        rt.configure({'area_file': str(tmp_path / 'nowhere.geojson')})


def test_localization_emits_nothing_before_activate(area_file):
    rt, out, _ = runtime(LocalizationComponent)
    rt.configure({'area_file': area_file})
    rt.deliver('gnss', gnss_at(1.0, 2.0, 0.1), 0.1)   # inputs reach a configured component
    rt.fire('publish', 0.1)                            # timers do not fire
    rt.component.publish(0.1)                          # and a direct emit is dropped
    assert out == [] and rt.dropped == {'pose': 1}
    assert rt.component.core.initialised
    rt.activate(0.2)
    rt.fire('publish', 0.2)
    assert len(poses(out)) == 1


# -- GPR and MD processors ----------------------------------------------------------------

def feed_poses(rt, t0, t1):
    """Deliver 20 Hz truth poses in [t0, t1] (the buffer refuses repeats)."""
    for t in np.arange(max(t0, 0.0), t1 + 1e-9, 0.05):
        rt.deliver('pose', pose_at(float(t)), float(t))


def detections(out):
    return [v for port, v in out if port == 'detections']


def test_gpr_processor_emits_detections_stamped_with_their_scan():
    obj = Obj(x=7.0, y=CH_Y[4], depth=0.15)
    rt, out, log = runtime(GprProcessorComponent)
    rt.configure({})
    rt.activate(0.0)
    stamps = set()
    for scan, stamp in gpr_batches(12.0, [obj], noise=0.01, seed=3):
        feed_poses(rt, stamp - 0.1, stamp)
        rt.deliver('scan', scan, stamp)
        stamps.add(scan.stamp)
    batches = detections(out)
    assert batches and all(isinstance(b, Detections) and b.items for b in batches)
    assert all(b.stamp in stamps for b in batches)
    best = max((d for b in batches for d in b.items), key=lambda d: d.confidence)
    assert best.source == 'gpr'
    assert math.hypot(best.x - obj.x, best.y - obj.y) < 0.1
    assert not log.has('warning', 'without a pose')
    level, _, values = rt.diagnostics(12.0)
    assert level == DiagLevel.OK and values['traces_no_pose'] == '0'


def test_gpr_detections_carry_the_pose_sigma_and_diagnostics_the_permittivity():
    """The pose covariance travels with each detection; the permittivity is published."""
    obj = Obj(x=7.0, y=CH_Y[4], depth=0.15)
    rt, out, _ = runtime(GprProcessorComponent)
    rt.configure({})
    rt.activate(0.0)
    for scan, stamp in gpr_batches(12.0, [obj], noise=0.01, seed=3):
        for t in np.arange(max(stamp - 0.1, 0.0), stamp + 1e-9, 0.05):
            rt.deliver('pose', dataclasses.replace(pose_at(float(t)), covariance_xy=0.0016),
                       float(t))
        rt.deliver('scan', scan, stamp)
    items = [d for b in detections(out) for d in b.items]
    assert items and all(d.sigma_xy == pytest.approx(0.04) for d in items)
    values = rt.diagnostics(12.0)[2]
    assert float(values['permittivity_in_use']) == pytest.approx(9.0)
    assert 'permittivity_estimate' in values and 'velocity_fits' in values


def test_gpr_processor_publishes_the_soil_permittivity_it_reads_depths_with():
    """Latched for the record: the prior at activation, then each move of the estimate."""
    objs = [Obj(x=6.0 + 1.5 * k, y=CH_Y[k], depth=0.12, gpr_amp=-0.3) for k in range(4)]
    rt, out, _ = runtime(GprProcessorComponent)
    rt.configure({'estimate_permittivity': True, 'velocity_min_fits': 1,
                  'soil_permittivity': 6.0})
    rt.activate(0.0)
    told = [v for port, v in out if port == 'permittivity']
    assert len(told) == 1 and (told[0].stamp, told[0].in_use, told[0].prior, told[0].fits,
                               told[0].estimated) == (0.0, 6.0, 6.0, 0, False)
    assert math.isnan(told[0].estimate)
    for scan, stamp in gpr_batches(14.0, objs, noise=0.01, seed=3):
        feed_poses(rt, stamp - 0.1, stamp)
        rt.deliver('scan', scan, stamp)
    told = [v for port, v in out if port == 'permittivity']
    core = rt.component.core
    assert core.stats.velocity_fits >= 1 and len(told) >= 2
    last = told[-1]
    # each message says what the processor used from its stamp on
    assert (last.in_use, last.fits) == (core.permittivity, core.stats.velocity_fits)
    assert last.estimated and last.in_use == last.estimate != 6.0 and last.prior == 6.0
    assert all(a.stamp <= b.stamp for a, b in zip(told, told[1:]))
    assert len({(t.in_use, t.fits) for t in told}) == len(told)      # only on change


def test_md_processor_emits_detections_stamped_with_their_scan():
    obj = Obj(x=8.0, y=CH_Y[5] + 0.06, depth=0.08, metal_k=metal_k_for(80.0, 0.08))
    rt, out, _ = runtime(MdProcessorComponent)
    rt.configure({})
    rt.activate(0.0)
    for scan in md_batches(12.0, [obj]):
        feed_poses(rt, scan.stamp - 0.1, scan.stamp)
        rt.deliver('scan', scan, scan.stamp)
    [batch] = detections(out)
    [det] = batch.items
    assert det.source == 'md' and math.hypot(det.x - obj.x, det.y - obj.y) < 0.05
    assert rt.diagnostics(12.0)[2]['detections'] == '1'


def test_the_end_of_a_scan_processes_what_waits_for_poses_and_flushes_the_gpr():
    """A replayed recording ends with scans newer than its last pose waiting (they would wait
    ``pose_wait_s`` for a pose that never comes) and, for the GPR, objects in the last
    ~0.3 m waiting for traces ahead: ``end_of_scan`` decides both."""
    obj = Obj(x=8.0, y=CH_Y[5] + 0.06, depth=0.08, metal_k=metal_k_for(80.0, 0.08))
    rt, out, _ = runtime(MdProcessorComponent)
    rt.configure({})
    rt.activate(0.0)
    scans = md_batches(12.0, [obj])
    feed_poses(rt, 0.0, scans[-1].stamp)
    for scan in scans:
        rt.deliver('scan', scan, scan.stamp)                # the poses cover each of them
    # one batch newer than the last pose waits for a pose that never comes
    late = dataclasses.replace(scans[-1], stamp=scans[-1].stamp + 0.1)
    rt.deliver('scan', late, late.stamp)
    assert len(rt.component._pending) == 1
    rt.component.end_of_scan()                             # the MD core has no flush
    assert not rt.component._pending and len(detections(out)) == 1
    # the GPR: a target 0.2 m before the antenna's last trace is decided only at the end
    gpr_obj = Obj(x=4.0 + 0.4 * 6.0 - 0.2, y=CH_Y[4], depth=0.12)
    rt, out, _ = runtime(GprProcessorComponent)
    rt.configure({})
    rt.activate(0.0)
    for scan, stamp in gpr_batches(6.0, [gpr_obj], noise=0.01, seed=3):
        feed_poses(rt, stamp - 0.1, stamp)
        rt.deliver('scan', scan, stamp)
    before = [d for b in detections(out) for d in b.items]
    rt.component.end_of_scan()
    after = [d for b in detections(out) for d in b.items][len(before):]
    assert not any(math.hypot(d.x - gpr_obj.x, d.y - gpr_obj.y) < 0.1 for d in before)
    assert any(math.hypot(d.x - gpr_obj.x, d.y - gpr_obj.y) < 0.1 for d in after)


@pytest.mark.parametrize('cls, counter', [(GprProcessorComponent, 'traces_no_pose'),
                                          (MdProcessorComponent, 'readings_no_pose')])
def test_processors_warn_about_readings_without_a_pose(cls, counter):
    rt, out, log = runtime(cls)
    rt.configure({})
    rt.activate(0.0)
    scan = (gpr_batches(0.1, [])[0][0] if cls is GprProcessorComponent
            else md_batches(0.1, [])[0])
    rt.deliver('scan', scan, scan.stamp)
    # The scan waits for its poses first (pose_wait_s, 1 s by default) ...
    assert not log.has('warning', 'without a pose')
    assert len(rt.component._pending) == 1
    # ... and is processed with what there is once it has waited that long.
    later = dataclasses.replace(scan, stamp=scan.stamp + 1.0)
    rt.deliver('scan', later, later.stamp)
    assert [o for o in out if o[0] == 'detections'] == [] and \
        log.has('warning', 'without a pose')
    level, message, values = rt.diagnostics(scan.stamp)
    assert int(values[counter]) > 0
    assert level == DiagLevel.WARN and 'pose' in message


def test_a_scan_waits_for_a_late_pose_instead_of_dropping_readings():
    """Localisation lags the sensors by a tick or more: readings must not be lost to that."""
    obj = Obj(x=8.0, y=CH_Y[5], depth=0.08, metal_k=metal_k_for(80.0, 0.08))
    rt, out, log = runtime(MdProcessorComponent)
    rt.configure({})
    rt.activate(0.0)
    for scan in md_batches(12.0, [obj]):
        rt.deliver('scan', scan, scan.stamp)           # before its poses ...
        feed_poses(rt, scan.stamp - 0.1, scan.stamp)   # ... which come a little later
    assert rt.component.core.stats.readings_no_pose == 0
    assert not log.has('warning', 'without a pose')
    assert any(port == 'detections' for port, _ in out)


def test_processor_emits_nothing_before_activate():
    obj = Obj(x=8.0, y=CH_Y[5], depth=0.08, metal_k=metal_k_for(80.0, 0.08))
    rt, out, _ = runtime(MdProcessorComponent)
    rt.configure({})
    for scan in md_batches(12.0, [obj]):
        feed_poses(rt, scan.stamp - 0.1, scan.stamp)
        rt.deliver('scan', scan, scan.stamp)
    assert out == [] and rt.dropped == {}
    # Poses were buffered, scans not processed (a detection then would have been lost).
    assert len(rt.component.poses) > 0 and rt.component.core.stats.readings == 0


# -- fusion -------------------------------------------------------------------------------

def gpr_hit(x, y):
    return Detection(x=x, y=y, depth=0.1, confidence=0.9, source='gpr', radius=0.05,
                     strength=10.0)


def test_fusion_emits_fused_detections_grid_and_markers_on_its_timer(area_file):
    rt, out, log = runtime(FusionComponent)
    rt.configure({'area_file': area_file, 'publish_period_s': 0.5, 'map_margin_m': 2.0,
                  'resolution_m': 0.5})
    assert rt.periods == {'publish': 0.5}
    assert log.has('info', 'mine map 68 x 48 cells')
    rt.activate(0.0)
    rt.deliver('gpr', Detections(1.0, [gpr_hit(5.25, 6.25)]), 1.0)
    rt.deliver('gpr', Detections(1.1, [gpr_hit(5.25, 6.25)]), 1.1)
    assert out == []                                  # outputs only on the timer
    rt.fire('publish', 1.5)
    assert [port for port, _ in out] == ['map', 'detections', 'markers']
    grid, fused, markers = (v for _, v in out)
    assert isinstance(grid, Grid) and grid.stamp == 1.5
    # The area bounds plus the margin size the grid.
    assert (grid.origin_x, grid.origin_y) == (pytest.approx(-2.0, abs=1e-3),
                                              pytest.approx(-2.0, abs=1e-3))
    assert grid.resolution == 0.5 and grid.values.shape == (48, 68)
    # The hits are at the centre of cell (row 16, column 14).
    assert grid.values[16, 14] > grid.values[0, 0] >= 0
    assert isinstance(fused, Detections) and fused.stamp == 1.5
    [d] = fused.items
    assert d.id == 1 and d.kind == DetectionKind.AP and d.source == 'fused'
    assert (d.x, d.y) == (pytest.approx(5.25), pytest.approx(6.25))
    assert markers == fused
    level, message, values = rt.diagnostics(1.5)
    assert level == DiagLevel.OK
    assert values['tracks'] == '1' and values['published'] == '1'
    assert values['detections_in'] == '2' and values['kind AP'] == '1'


def test_fusion_emits_the_map_at_its_own_period_and_the_detections_at_every_publish(
        area_file):
    rt, out, _ = runtime(FusionComponent)
    rt.configure({'area_file': area_file, 'publish_period_s': 0.2, 'map_period_s': 1.0})
    rt.activate(0.0)
    stamps = [round(0.2 * k, 10) for k in range(1, 16)]
    for t in stamps:
        rt.fire('publish', t)
    maps = [v.stamp for port, v in out if port == 'map']
    assert maps == [0.2, 1.2, 2.2]
    assert [v.stamp for port, v in out if port == 'detections'] == stamps
    # map_period_s (and markers_period_s) 0: every publishing, as before the parameters
    rt, out, _ = runtime(FusionComponent)
    rt.configure({'area_file': area_file, 'publish_period_s': 0.2, 'map_period_s': 0.0,
                  'markers_period_s': 0.0})
    rt.activate(0.0)
    for t in stamps[:3]:
        rt.fire('publish', t)
    assert [port for port, _ in out] == ['map', 'detections', 'markers'] * 3


def test_fusion_emits_the_markers_at_their_own_period_and_the_detections_at_every_publish(
        area_file):
    """The markers (viewers only) follow markers_period_s; /detections, the safety path the
    planner and the supervisor read, keeps publish_period_s, a new track included."""
    rt, out, _ = runtime(FusionComponent)
    rt.configure({'area_file': area_file, 'publish_period_s': 0.2, 'map_period_s': 1.0,
                  'markers_period_s': 1.0})
    rt.activate(0.0)
    stamps = [round(0.2 * k, 10) for k in range(1, 16)]
    for t in stamps:
        if t == 0.4:
            rt.deliver('gpr', Detections(t, [gpr_hit(5.25, 6.25)]), t)
        rt.fire('publish', t)
    detections = [v for port, v in out if port == 'detections']
    assert [v.stamp for v in detections] == stamps
    assert [len(v.items) for v in detections[:3]] == [0, 1, 1]   # the track at once
    markers = [v for port, v in out if port == 'markers']
    assert [v.stamp for v in markers] == [0.2, 1.2, 2.2]
    # the markers draw the fused list of their publishing
    assert markers[1] == detections[5] and len(markers[1].items) == 1
    # the order of a publishing with all three: the map, the detections, the markers
    assert [port for port, _ in out[:4]] == ['map', 'detections', 'markers', 'detections']
    # the default is the map's period
    rt, out, _ = runtime(FusionComponent)
    rt.configure({'area_file': area_file, 'publish_period_s': 0.2})
    rt.activate(0.0)
    for t in stamps:
        rt.fire('publish', t)
    assert [v.stamp for port, v in out if port == 'markers'] == [0.2, 1.2, 2.2]


def test_fusion_poses_sweep_the_map_down_where_nothing_answered():
    """Negative evidence: the boom 4 m ahead sweeps cells it passes over without a return."""
    rt, out, _ = runtime(FusionComponent)
    rt.configure({'map_origin_x': 0.0, 'map_origin_y': 0.0, 'map_width_m': 20.0,
                  'map_height_m': 20.0, 'resolution_m': 0.5})
    rt.activate(0.0)
    rt.fire('publish', 0.0)
    prior = dict(out)['map'].values.copy()
    for k in range(40):
        t = 0.1 * k
        rt.deliver('pose', VehicleState(stamp=t, x=2.0 + 0.1 * k, y=10.0, yaw=0.0), t)
    rt.deliver('pose', VehicleState(stamp=10.0, x=6.0, y=10.0, yaw=0.0), 10.0)
    out.clear()
    rt.fire('publish', 10.0)
    grid = dict(out)['map'].values
    row, col = int(10.0 / 0.5), int(8.0 / 0.5)         # x = 8 m: swept by the boom
    assert grid[row, col] < prior[row, col]
    assert grid[row, int(15.0 / 0.5)] == prior[row, int(15.0 / 0.5)]   # not reached
    assert int(rt.diagnostics(10.0)[2]['cells_swept']) > 0


def test_fusion_md_input_and_grid_without_area_file():
    rt, out, _ = runtime(FusionComponent)
    rt.configure({'map_origin_x': 0.0, 'map_origin_y': 0.0, 'map_width_m': 20.0,
                  'map_height_m': 20.0})
    rt.activate(0.0)
    hit = Detection(x=5.0, y=6.0, depth=0.1, confidence=0.95, source='md', strength=50.0)
    rt.deliver('md', Detections(1.0, [hit]), 1.0)
    rt.fire('publish', 1.0)
    grid = dict(out)['map']
    assert grid.values.shape == (200, 200) and (grid.origin_x, grid.origin_y) == (0.0, 0.0)
    assert len(dict(out)['detections'].items) == 1


def test_fusion_emits_nothing_before_activate(area_file):
    rt, out, _ = runtime(FusionComponent)
    rt.configure({'area_file': area_file})
    rt.deliver('gpr', Detections(1.0, [gpr_hit(5.0, 6.0)]), 1.0)
    rt.fire('publish', 1.0)
    assert out == []
    rt.activate(2.0)
    rt.fire('publish', 2.0)
    # What arrived while inactive was fused and goes out once active.
    assert len(dict(out)['detections'].items) == 1


# -- input monitor ------------------------------------------------------------------------

def test_input_monitor_reports_rates_ages_and_missing_inputs():
    m = InputMonitor(stale_after_s=1.0)
    m.expect('a', 'b')
    for t in (0.0, 0.5, 1.0):
        m.tick('a', t)
    level, message, values = m.report(1.0)
    assert level == DiagLevel.WARN and message == 'no recent input: b'
    assert values['a rate_hz'] == '3.00' and values['a count'] == '3'
    assert values['b age_s'] == 'never'
    m.tick('b', 1.5)
    level, message, values = m.report(2.0)
    assert level == DiagLevel.OK and message == 'ok' and values['a age_s'] == '1.00'


def test_fusion_takes_the_missions_processed_ground_for_the_flails_evidence():
    """/coverage/processed (100: processed) reaches the core: a shallow track there is one the
    working flail has passed over (FusionCore.flailed)."""
    rt, out, _ = runtime(FusionComponent)
    rt.configure({'map_origin_x': 0.0, 'map_origin_y': 0.0, 'map_width_m': 20.0,
                  'map_height_m': 20.0, 'resolution_m': 0.5})
    rt.activate(0.0)
    values = np.zeros((200, 200), dtype=np.int8)
    values[40:60, 40:60] = 100                          # x, y 4..6 m processed
    rt.deliver('processed', Grid(stamp=1.0, values=values, origin_x=0.0, origin_y=0.0,
                                 resolution=0.1), 1.0)
    for k, y in enumerate((5.0, 15.0)):
        rt.deliver('gpr', Detections(2.0 + k, [Detection(x=5.0, y=y, depth=0.04,
                                                         confidence=0.9, source='gpr',
                                                         radius=0.02, strength=10.0)]),
                   2.0 + k)
    core = rt.component.core
    flailed = {round(t.y): core.flailed(t) for t in core.tracks.values()}
    assert flailed == {5: True, 15: False}
