"""People monitor core and component; people sensor statistics (fixed seeds)."""

import math

import numpy as np
import pytest

from demining_bringup.contract import topics
from demining_bringup.contract.datatypes import PeopleZone, PlanarPoints, ToolState
from demining_bringup.contract.states import ZoneState
from demining_bringup.contract.wire import wires
from demining_bringup.hosts.runtime import ComponentRuntime, RecordingLog
from demining_control.people_monitor_node import PeopleMonitorComponent
from demining_control.safety.people_zones import PeopleZoneParams, PeopleZones
from demining_sim.sensors.people import (PeopleSensor, PeopleSensorParams,
                                         detection_probability)


def scans(z, t0, t1, points, flail=83.8, dt=0.1):
    """Feed scans with ``points`` (base_link) and a tool state every dt; return the verdicts."""
    out = []
    t = t0
    while t <= t1 + 1e-9:
        z.on_tool_state(ToolState(t, flail, 0.0, 0.15), t)
        z.on_scan(PlanarPoints(t, list(points), 'base_link'), t)
        out.append(z.update(t))
        t = round(t + dt, 6)
    return out


def test_detection_probability_falls_with_range_and_statistics_match():
    p = PeopleSensorParams()
    assert detection_probability(10.0, p) == pytest.approx(0.95, abs=0.01)
    assert detection_probability(70.0, p) == pytest.approx(0.475, abs=0.01)
    assert detection_probability(81.0, p) == 0.0
    sensor = PeopleSensor(p, np.random.default_rng(7))
    n = 4000
    near = sum(any(math.hypot(x - 30.0, y) < 3.0 for x, y in
                   sensor.scan(0.1 * i, 0.0, 0.0, 0.0, [(30.0, 0.0)]).points)
               for i in range(n)) / n
    assert near == pytest.approx(detection_probability(30.0, p), abs=0.02)
    # false alarms: Poisson, mean 0.05 per scan, inside range and field of view
    fa = sensor.false_alarms / n
    assert 0.035 <= fa <= 0.065


def test_field_of_view_and_latency():
    p = PeopleSensorParams(people_sensor_hfov_deg=80.0, people_false_alarms_per_scan=0.0,
                           people_sensor_latency_s=0.3)
    sensor = PeopleSensor(p, np.random.default_rng(1))
    behind = sum(len(sensor.scan(i * 0.1, 0.0, 0.0, 0.0, [(-20.0, 0.0)]).points)
                 for i in range(200))
    assert behind == 0
    scan = sensor.scan(50.0, 0.0, 0.0, math.pi / 2, [(0.0, 20.0)])  # ahead when facing north
    assert scan.stamp == 50.0 and len(scan.points) in (0, 1)
    assert sensor.ready(50.2) and not [s for s in sensor.ready(50.2) if s.stamp == 50.0]
    assert [s.stamp for s in sensor.ready(50.3)] == [50.0]


def test_isolated_false_alarms_do_not_stop_but_a_person_does_at_once():
    z = PeopleZones()
    scans(z, 0.0, 6.0, [])
    assert z.zone is ZoneState.CLEAR
    # one-off detections at different places: never confirmed
    for i, pt in enumerate([(30.0, 5.0), (-20.0, 30.0), (10.0, -40.0)]):
        t = 6.1 + 0.1 * i
        z.on_scan(PlanarPoints(t, [pt], 'base_link'), t)
        assert z.update(t).zone == ZoneState.CLEAR.value
    # a person 40 m from the flail while it runs: stop after three hits (0.2 s)
    out = scans(z, 7.0, 7.2, [(42.6, 0.0)])
    assert out[2].zone == ZoneState.STOP.value and 'safety distance' in out[2].reason


def test_flail_safety_distance_only_while_the_flail_runs():
    z = PeopleZones(PeopleZoneParams(clear_hold_s=0.0))
    out = scans(z, 0.0, 2.0, [(40.0, 0.0)], flail=0.0)
    assert out[-1].zone == ZoneState.CLEAR.value
    out = scans(z, 2.1, 3.0, [(40.0, 0.0)], flail=83.8)
    assert out[-1].zone == ZoneState.STOP.value
    # the flail stops: the stop holds (latched work safety distance) until the person leaves
    out = scans(z, 3.1, 5.0, [(40.0, 0.0)], flail=0.0)
    assert out[-1].zone == ZoneState.STOP.value
    out = scans(z, 5.1, 7.0, [(90.0, 0.0)], flail=0.0)   # the old track times out (1 s)
    assert out[-1].zone == ZoneState.CLEAR.value


def test_polygons_slow_and_stop_and_the_hold_time():
    z = PeopleZones(PeopleZoneParams(clear_hold_s=3.0))
    assert [v.zone for v in scans(z, 0.0, 4.0, [(15.0, 8.0)], flail=0.0)][-1] == 'slow'
    assert scans(z, 4.1, 4.5, [(5.0, 2.0)], flail=0.0)[-1].zone == 'stop'
    out = scans(z, 4.6, 10.0, [], flail=0.0)
    cleared = [v.stamp for v in out if v.zone == 'clear']
    # stale track dropped after 1 s, then 3 s of clear before the stop comes down
    assert cleared and cleared[0] >= 4.5 + 1.0 + 3.0 - 0.15
    assert all(v.zone == 'stop' for v in out if v.stamp < cleared[0])


def test_no_scan_is_a_stop():
    z = PeopleZones()
    assert z.update(0.0).zone == 'stop'
    scans(z, 0.0, 6.0, [])
    assert z.zone is ZoneState.CLEAR
    z.on_tool_state(ToolState(7.0, 0.0), 7.0)
    assert z.update(7.0).zone == 'stop' and 'stale' in z.reason


def test_component_publishes_the_zone_through_the_wire():
    out = []
    rt = ComponentRuntime(PeopleMonitorComponent, sink=lambda p, v: out.append((p, v)),
                          log=RecordingLog())
    rt.configure({'clear_hold_s': 1.0})
    rt.activate(0.0)
    w = wires()
    det, zw = w[topics.PEOPLE_DETECTIONS], w[topics.PEOPLE_ZONE]
    t = 0.0
    for i in range(40):
        t = round(0.1 * (i + 1), 3)
        pts = [(4.0, 1.0)] if 10 <= i < 15 else []
        rt.deliver('detections', det.decode(det.encode(PlanarPoints(t, pts), t)), t)
        rt.deliver('tool_state', ToolState(t, 0.0), t)
        rt.fire('judge', t)
    zones = [zw.decode(zw.encode(v, 0.0)) for p, v in out if p == 'zone']
    assert all(isinstance(z, PeopleZone) for z in zones)
    seq = [z.zone for z in zones]
    assert 'stop' in seq and seq[-1] == 'clear'
    stop = next(z for z in zones if z.zone == 'stop' and z.people)
    assert stop.nearest_m == pytest.approx(math.hypot(4.0, 1.0), abs=0.01)
