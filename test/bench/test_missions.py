"""The mission scoreboard (bench/missions.py): metrics on synthetic inputs, the mission set,
the command line, rows for missions that fail, and one tiny real mission through the task."""

import csv
import json
import math
import os
import time

import numpy as np
import pytest
from shapely.geometry import Point, Polygon, box

from bench import mission_metrics as mm
from bench import missions
from demining_bringup.contract.datatypes import SimEvent
from demining_sim.truth import ProcessedTruth

GEOMETRY = mm.TrackGeometry(gauge_m=1.6, width_m=0.35, length_m=4.0)


def grid(width_m=20.0, height_m=10.0, res=0.1, origin=(0.0, 0.0)):
    """A hazard field covering the whole grid, nothing processed."""
    rows, cols = int(round(height_m / res)), int(round(width_m / res))
    return mm.GridView(mask=np.ones((rows, cols), dtype=bool),
                       processed=np.zeros((rows, cols), dtype=bool),
                       origin_x=origin[0], origin_y=origin[1], resolution=res)


def process_band(g, y0, y1):
    """Mark the cells whose rows lie in [y0, y1) processed (all columns)."""
    i0 = int(round((y0 - g.origin_y) / g.resolution))
    i1 = int(round((y1 - g.origin_y) / g.resolution))
    g.processed[i0:i1, :] = True


def item(name, kind, x, y, active=True):
    return mm.TruthItem(name, kind, x, y, active)


# --- truth: live mines in processed ground ----------------------------------------------------

def test_mines_left_active_in_processed_ground_counts_only_live_hazards_in_processed_field():
    g = grid(10.0, 10.0, res=1.0)
    g.processed[:, :5] = True            # x < 5 processed
    g.mask[:, 9] = False                 # x in [9, 10) is outside the hazard field
    g.processed[:, 9] = True             # swept, but not hazard ground
    items = [
        item('ap_live_processed', 'AP', 1.5, 2.5),          # counts
        item('at_live_processed', 'AT', 4.99, 9.9),         # counts (last processed column)
        item('uxo_live_processed', 'UXO', 0.0, 0.0),        # counts (cell corner)
        item('ap_live_unprocessed', 'AP', 5.0, 2.5),        # unprocessed cell
        item('ap_neutralised', 'AP', 2.5, 2.5, active=False),
        item('at_detonated', 'AT', 3.5, 3.5, active=False),
        item('clutter', 'clutter', 1.5, 1.5),               # not a mine
        item('ap_outside_field', 'AP', 9.5, 5.0),           # processed but not hazard field
        item('ap_off_grid', 'AP', -3.0, 5.0),
        item('ap_nan', 'AP', math.nan, 1.0),
    ]
    assert mm.mines_left_active_in_processed_ground(items, g) == 3
    # a live mine in a no-go zone of the report is left for EOD, not in released ground
    assert mm.mines_left_active_in_processed_ground(items, g, [(1.5, 2.3, 0.5)]) == 2
    assert mm.mines_left_active_in_processed_ground([], g) == 0
    g.processed[:] = False
    assert mm.mines_left_active_in_processed_ground(items, g) == 0


def test_truth_items_come_from_the_simulator_fates():
    from demining_sim.truth import FateState, ItemFate
    g = grid(10.0, 10.0, res=1.0)
    g.processed[:, :5] = True            # x < 5 processed

    def fate(name, kind, x0, x, state=FateState.INTACT):
        return ItemFate(name, kind, '', x0, 5.0, 0.1, x, 5.0, 0.1, state=state.value)
    fates = [fate('thrown_into_processed', 'AP', 7.0, 2.0),     # live where it landed
             fate('thrown_out_of_processed', 'AP', 2.0, 7.0),
             fate('damaged', 'AP', 1.0, 1.0, FateState.DAMAGED),
             fate('detonated', 'AT', 3.0, 3.0, FateState.DETONATED),
             fate('destroyed', 'AP', 4.0, 4.0, FateState.DESTROYED),
             fate('clutter', 'clutter', 1.0, 1.0)]
    items = mm.truth_items_from_fates(fates)
    assert [it.active for it in items] == [True, True, True, False, False, False]
    assert mm.mines_left_active_in_processed_ground(items, g) == 2


def test_truth_items_read_the_simulators_item_fates():
    import dataclasses
    from demining_sim.generator import make_item
    from demining_sim.simulator import Simulator
    from demining_bringup.contract.world import GeoOrigin, World
    world = World(name='w', origin=GeoOrigin(45.0, 18.0), field=[(0, 0), (10, 0), (10, 10)],
                  items=[make_item('PMN', 'a', 2.0, 1.0, 0.05),
                         make_item('PMN', 'b', 2.5, 1.0, 0.05),
                         make_item('can', 'c', 3.0, 1.0, 0.05)])
    sim = Simulator(world)
    fates = sim.item_fates()
    # 'a' detonated; 'b' thrown aside intact (still live, elsewhere).
    fates[0] = dataclasses.replace(fates[0], state='detonated')
    fates[1] = dataclasses.replace(fates[1], x=6.0, moves=1)
    sim.item_fates = lambda: fates
    got = missions.truth_items(sim)
    assert [(t.name, t.kind, t.active, t.x) for t in got] == [
        ('a', 'AP', False, 2.0), ('b', 'AP', True, 6.0), ('c', 'clutter', False, 3.0)]


# --- footprint violations ---------------------------------------------------------------------

def test_track_corners_rotate_with_the_pose():
    pts = mm.track_corners(5.0, 1.0, 0.0, GEOMETRY)
    assert pts.shape == (8, 2)
    np.testing.assert_allclose(sorted(set(np.round(pts[:, 1], 6))),
                               [1.0 - 0.975, 1.0 - 0.625, 1.0 + 0.625, 1.0 + 0.975])
    np.testing.assert_allclose(sorted(set(np.round(pts[:, 0], 6))), [3.0, 7.0])
    turned = mm.track_corners(5.0, 1.0, math.pi / 2.0, GEOMETRY)
    np.testing.assert_allclose(sorted(set(np.round(turned[:, 1], 6))), [-1.0, 3.0])


def test_footprint_violation_ticks():
    g = grid()
    process_band(g, 0.0, 2.0)            # a processed lane 2 m wide along x
    lane = [(-12.0, 0.5), (0.0, 0.5), (0.0, 1.5), (-12.0, 1.5)]
    poses = [
        (5.0, 1.0, 0.0),                 # tracks inside the processed lane: fine
        (5.0, 1.025, 0.0),               # outer edge exactly on the lane edge: fine (inset)
        (5.0, 1.3, 0.0),                 # left track 0.275 m onto unprocessed ground
        (5.0, 1.0, math.pi / 2.0),       # turned across the lane: the tracks leave it
        (-8.0, 5.0, 0.0),                # off the grid: outside the hazard field
        (float('nan'), 1.0, 0.0),        # no pose: not counted as a violation
    ]
    assert mm.count_footprint_violations(poses, g, GEOMETRY) == 2
    assert mm.count_footprint_violations(poses, g, GEOMETRY, inset_m=0.0) == 3
    g.mask[:, :] = False                 # nothing is hazard ground any more
    assert mm.count_footprint_violations(poses, g, GEOMETRY) == 0
    # Declared safe: the approach lane; a grid whose left part is unprocessed hazard ground.
    g2 = grid(40.0, 10.0, origin=(-20.0, -2.0))
    safe = mm.polygons_contain([lane])
    on_lane = [(-6.0, 1.0, 0.0)]         # track patches reach y = 0.025 .. 1.975: not all lane
    assert mm.count_footprint_violations(on_lane, g2, GEOMETRY) == 1
    wide = mm.polygons_contain([[(-12.0, -0.5), (0.0, -0.5), (0.0, 2.5), (-12.0, 2.5)]])
    assert mm.count_footprint_violations(on_lane, g2, GEOMETRY, wide) == 0
    assert mm.count_footprint_violations(on_lane, g2, GEOMETRY, safe) == 1


def test_footprint_monitor_reads_the_grid_as_it_changes():
    g = grid()
    mon = mm.FootprintMonitor(g, GEOMETRY)
    assert mon.check(0.1, 5.0, 1.0, 0.0)
    process_band(g, 0.0, 2.0)
    assert not mon.check(0.2, 5.0, 1.0, 0.0)
    assert (mon.ticks, mon.violations, mon.first) == (2, 1, (0.1, 5.0, 1.0))
    assert mon.where == [(0.1, 5.0, 1.0)]


def test_footprint_violations_are_told_apart_by_the_motion_that_made_them():
    g = grid()
    mon = mm.FootprintMonitor(g, GEOMETRY)
    for v, omega in ((0.3, 0.0), (0.3, 0.2), (-0.2, 0.0), (0.0, 0.3), (0.001, -0.001)):
        assert mon.check(0.1, 5.0, 1.0, 0.0, v, omega)
    assert mon.check(0.2, 5.0, 1.0, 0.0)            # no motion given: counted, not told apart
    assert mon.violations == 6
    assert mon.by_motion == {'forward': 2, 'reverse': 1, 'pivot': 1, 'standing': 1}


def test_the_time_of_every_tick_is_told_apart_by_how_the_machine_moved():
    # where a mission's time went (a wet-clay field spent 4,037 of 6,859 s pivoting),
    # violation or not: each tick's time goes to the motion at its end
    g = grid()
    g.processed[:] = True
    mon = mm.FootprintMonitor(g, GEOMETRY)
    t = 0.0
    for v, omega, n in ((0.0, 0.0, 1), (0.3, 0.0, 20), (0.0, 0.3, 50), (-0.2, 0.0, 5),
                        (0.0, 0.0, 10)):
        for _ in range(n):
            mon.check(t, 5.0, 1.0, 0.0, v, omega)
            t = round(t + 0.1, 6)
    mon.check(t, 5.0, 1.0, 0.0)                    # no motion given: no time told apart
    assert mon.violations == 0
    assert mon.seconds_by_motion == pytest.approx(
        {'forward': 2.0, 'pivot': 5.0, 'reverse': 0.5, 'standing': 1.0})


def test_the_ground_pressed_while_not_allowed_counts_once_however_long_it_is_stood_on():
    g = grid()
    mon = mm.FootprintMonitor(g, GEOMETRY)
    for k in range(10):                             # standing: ten ticks, one footprint
        mon.check(0.1 * k, 5.0, 1.0, 0.0, 0.0, 0.0)
    once = mon.violation_m2
    # both patches: 2 x 4 m x 0.35 m, in 0.25 m cells
    patches = 2.0 * GEOMETRY.length_m * GEOMETRY.width_m
    assert 0.5 * patches <= once <= 1.5 * patches
    mon.check(1.1, 6.0, 1.0, 0.0, 0.3, 0.0)        # 1 m on: new ground under the fronts
    assert once < mon.violation_m2 < 2.0 * once
    before = mon.violation_m2
    process_band(g, 0.0, 2.0)
    assert not mon.check(1.2, 9.0, 1.0, 0.0, 0.3, 0.0)     # on processed ground: nothing
    assert mon.violation_m2 == before and mon.violations == 11


def test_the_footprint_is_judged_on_the_ground_the_tool_really_processed():
    # The record says the lane y 0..2 is processed; the tool really processed y 0.2..2.2 (the
    # localisation put the record 0.2 m south of the truth).
    g = grid()
    process_band(g, 0.0, 2.0)
    truth = ProcessedTruth(0.0, 20.0, 0.0, 10.0, 0.1)
    truth.stamp(10.0, 1.2, 0.0, 10.0, 10.0, 1.0, 0.15)
    really = mm.truth_processed(truth)
    assert list(really(np.array([5.0, 5.0, 5.0, -3.0, np.nan]),
                       np.array([0.1, 0.3, 2.15, 1.0, 1.0]))) == [False, True, True, False, False]
    on_truth = (5.0, 1.2, 0.0)           # tracks on the ground the tool swept
    on_record = (5.0, 1.0, 0.0)          # tracks on the recorded lane
    assert mm.count_footprint_violations([on_truth, on_record], g, GEOMETRY) == 1
    assert mm.count_footprint_violations([on_truth, on_record], g, GEOMETRY,
                                         processed=really) == 1
    assert not mm.footprint_violated(*on_truth, g, GEOMETRY, processed=really)
    assert mm.footprint_violated(*on_record, g, GEOMETRY, processed=really)
    # outside the hazard field nothing is a violation, whatever the truth raster says
    g.mask[:, :] = False
    assert not mm.footprint_violated(*on_record, g, GEOMETRY, processed=really)
    # the raster grows as the tool works: read at every check
    g.mask[:, :] = True
    mon = mm.FootprintMonitor(g, GEOMETRY, processed=really)
    assert mon.check(0.1, *on_record)
    truth.stamp(10.0, 1.0, 0.0, 10.0, 10.0, 1.0, 0.15)
    assert not mon.check(0.2, *on_record)


def test_outside_the_field_only_declared_safe_ground_is_allowed():
    """Issue 7: ground round the field is not safe unless the area says so, and an exclusion
    zone is kept out, processed or not, unless a safe area is declared over it."""
    g = grid(20.0, 10.0, origin=(0.0, 0.0))
    process_band(g, 0.0, 2.0)
    beyond = (-3.0, 1.0, 0.0)                      # tracks 1.5-4.5 m west of the field
    on_lane = (5.0, 1.0, 0.0)                      # on the processed lane
    assert mm.count_footprint_violations([beyond, on_lane], g, GEOMETRY) == 0
    assert mm.count_footprint_violations([beyond, on_lane], g, GEOMETRY,
                                         field_only=False) == 1
    margin = mm.polygons_contain([box(-10.0, -10.0, 30.0, 20.0).difference(
        box(0.0, 0.0, 20.0, 10.0))])               # a declared safe margin round the field
    assert mm.count_footprint_violations([beyond, on_lane], g, GEOMETRY, margin,
                                         field_only=False) == 0
    road = mm.polygons_contain([[(4.0, -1.0), (6.0, -1.0), (6.0, 11.0), (4.0, 11.0)]])
    assert mm.count_footprint_violations([on_lane], g, GEOMETRY, margin, field_only=False,
                                         keep_out=road) == 1
    crossing = mm.polygons_contain([[(3.0, -1.0), (7.0, -1.0), (7.0, 3.0), (3.0, 3.0)]])
    assert mm.count_footprint_violations([on_lane], g, GEOMETRY, crossing, field_only=False,
                                         keep_out=road) == 0
    # an empty declaration holds nothing
    assert not mm.polygons_contain([Polygon()])(np.array([0.0]), np.array([0.0])).any()


# --- events, rates, limits ----------------------------------------------------------------------

def _drive_with_boom(start_x: float, tool_from_x: float, end_x: float, in_field=None):
    """Drive along +x (the simulator's geometry: boom 4 m, flail 2.6 m ahead, both 2 m wide),
    the tool processing once base_link passes ``tool_from_x``; return the monitor."""
    truth = ProcessedTruth(-10.0, 30.0, -5.0, 5.0, 0.05)
    mon = mm.ScanLeadMonitor(truth, 4.0, 2.0, 2.6, 1.5, in_field=in_field)
    x = start_x
    while x <= end_x:
        if x >= tool_from_x:
            truth.stamp(x + 2.6, 0.0, 0.0, 0.1, 0.2, 1.0, 0.15)
        mon.check(x, 0.0, 0.0, t=x)
        x += 0.04                  # 0.4 m/s at the 10 Hz tick
    return mon


def test_ground_processed_before_the_boom_scanned_it():
    """Lowering the tool where the boom has not been leaves the 1.4 m between flail and boom
    processed unscanned (a lane start after a pivot); a run-in with the tool up leaves none."""
    cold = _drive_with_boom(0.0, 0.0, 10.0)
    done, unscanned = cold.areas_m2()
    assert done == pytest.approx(2.0 * 10.3, rel=0.05)
    # From the strip's start (2.6 - 0.2 behind) to the boom's first stamp (4.0 - 0.1).
    assert unscanned == pytest.approx(2.0 * (3.9 - 2.4), abs=0.2)
    # each tick that did is listed, at the strip's start: the areas add up
    assert cold.where and max(t for t, *_ in cold.where) < 1.6
    assert sum(m2 for *_, m2 in cold.where) == pytest.approx(unscanned)
    run_in = _drive_with_boom(-2.0, 0.0, 10.0)
    assert run_in.areas_m2()[1] == 0.0 and not run_in.where
    # Only the field counts when asked.
    _, in_field = cold.areas_m2(lambda xs, ys: xs > 3.5)
    assert in_field == pytest.approx(2.0 * 0.4, abs=0.15)
    # and the ticks listed, given the field, count its ground only
    fenced = _drive_with_boom(0.0, 0.0, 10.0, in_field=lambda xs, ys: xs > 3.5)
    assert sum(m2 for *_, m2 in fenced.where) == pytest.approx(in_field)


def _blind_monitor(in_field=lambda xs, ys: np.ones(np.shape(xs), dtype=bool), safe=None):
    truth = ProcessedTruth(-10.0, 30.0, -10.0, 10.0, 0.05)
    scan = mm.ScanLeadMonitor(truth, 4.0, 3.2, 2.6, 1.5)
    return scan, mm.UnscannedTrackMonitor(scan, GEOMETRY, in_field, safe)


def test_tracks_on_ground_no_sensor_passed_over():
    """Driving straight, the boom (4 m ahead, 3.2 m wide) has passed over every point the
    tracks reach (but where the machine was put down); a pivot swings the tracks' ends past
    the boom's half width onto ground it never saw, which counts, by motion, once per cell;
    declared safe ground and ground outside the field do not count."""
    scan, blind = _blind_monitor()
    x, t = 0.0, 0.0
    while x <= 10.0:
        scan.check(x, 0.0, 0.0)
        blind.check(t, x, 0.0, 0.0, 0.4, 0.0)
        x, t = x + 0.04, t + 0.1
    parked = blind.area_m2
    assert parked > 0.0 and blind.by_motion['forward'] > 0
    # only until the tracks reach the boom's first swath (4 - 0.1 - 2 m ahead of the start)
    assert max(w[1] for w in blind.where) < 2.0
    ticks = len(blind.where)
    for yaw in np.linspace(0.0, 0.5 * math.pi, 40):
        scan.check(10.0, 0.0, float(yaw))
        blind.check(t, 10.0, 0.0, float(yaw), 0.0, 0.3)
        t += 0.1
    assert blind.by_motion['pivot'] > 0 and len(blind.where) > ticks
    assert blind.area_m2 > parked
    swept, ticks = blind.area_m2, len(blind.where)
    # the same pivot back adds nothing: the ground is pressed already
    for yaw in np.linspace(0.5 * math.pi, 0.0, 40):
        blind.check(t, 10.0, 0.0, float(yaw), 0.0, -0.3)
        t += 0.1
    assert blind.area_m2 == swept and len(blind.where) == ticks
    # outside the field, or on declared safe ground, nothing counts
    for in_field, safe in ((lambda xs, ys: np.asarray(xs) < -5.0, None),
                           (None, lambda xs, ys: np.ones(np.shape(xs), dtype=bool))):
        scan, other = _blind_monitor(*(() if in_field is None else (in_field,)), safe=safe)
        for yaw in np.linspace(0.0, 0.5 * math.pi, 40):
            other.check(0.0, 10.0, 0.0, float(yaw), 0.0, 0.3)
        assert other.area_m2 == 0.0 and other.first is None
    # ground the tool really processed is no exposure either
    scan, other = _blind_monitor()
    scan.processed.stamp(0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 0.15)
    assert not other.check(0.0, 0.0, 0.0, 0.0)
    assert not other.check(0.0, float('nan'), 0.0, 0.0)


def test_people_incidents_are_person_hits_not_mere_intrusions():
    events = [SimEvent(1.0, 'intrusion', 'farmer', 'person'),
              SimEvent(2.0, 'intrusion', 'dog', 'animal'),
              SimEvent(3.0, 'person_hit', 'child', ''),
              SimEvent(4.0, 'neutralised', 'ap_1', 'AP'),
              {'kind': 'intrusion', 'item_kind': 'person'}]
    assert sum(map(mm.is_people_incident, events)) == 1
    assert mm.count_events(events, 'intrusion') == 3


def test_a_person_near_a_hazardous_machine_is_one_incident_per_approach():
    """Inside the safety distance of the tool (2.6 m ahead of base_link) while a rotor turns
    or the vehicle moves: an incident, once per approach; near a machine at rest: none."""
    mon = mm.PeopleMonitor(safety_distance_m=50.0, tool_offset_x_m=2.6,
                           rotor_running_radps=5.0)
    far, near = [('walker', 60.0, 0.0)], [('walker', 50.0, 0.0)]
    assert mon.check(0.0, 0.0, 0.0, 0.0, 0.0, (80.0, 0.0), far) == 0
    # 47.4 m from the tool: inside, the flail at speed
    assert mon.check(0.1, 0.0, 0.0, 0.0, 0.0, (80.0, 0.0), near) == 1
    assert mon.check(0.2, 0.0, 0.0, 0.0, 0.3, (80.0, 0.0), near) == 0   # the same approach
    # the machine stops (rotor down, standing): the approach ends; a new hazard counts again
    assert mon.check(0.3, 0.0, 0.0, 0.0, 0.0, (1.0, 0.0), near) == 0
    assert mon.check(0.4, 0.0, 0.0, 0.0, 0.1, (0.0, 0.0), near) == 1
    # facing away: the tool is 2.6 m further from the walker (52.6 m): no incident
    assert mon.check(0.5, 0.0, 0.0, math.pi, 0.1, (0.0, 0.0), near) == 0
    assert mon.incidents == 2 and mon.first == (0.1, 'walker', 47.4)


def test_rates():
    assert mm.rate_limit_m2_per_h(2.0, 0.4) == pytest.approx(2880.0)
    assert mm.rate_vs_limit(1440.0, 2.0, 0.4) == pytest.approx(0.5)
    assert mm.rate_vs_limit(None, 2.0, 0.4) is None


# --- aggregation -------------------------------------------------------------------------------

def row(**kw):
    r = missions.base_row({'mission': 'm', 'world': 'w', 'seed': 1})
    r.update(kw)
    return r


def test_aggregate_rows_into_the_json_line_with_an_errored_row():
    rows = [
        row(outcome='complete', completed=True, coverage_pct=99.5, at_detonations=0,
            people_incidents=1, footprint_violations=10, rate_vs_limit=0.6, rtf=40.0,
            hazards_under_tracks=2, suspects_under_tracks=3,
            mines_left_active_in_processed_ground=1, coverage_workable_pct=99.8,
            false_no_go_zones=1, processed_before_scan_pct=4.5, tracks_on_unscanned_m2=1.25),
        row(outcome='aborted', coverage_pct=20.0, at_detonations=1, people_incidents=0,
            footprint_violations=5, rate_vs_limit=0.2, rtf=30.0,
            mines_left_active_in_processed_ground=0, processed_before_scan_pct=12.25,
            tracks_on_unscanned_m2=0.5),
        row(outcome='deadlock', deadlock=True, coverage_pct=50.0, at_detonations=0,
            people_incidents=2, footprint_violations=0, rate_vs_limit=0.4, rtf=50.0,
            mines_left_active_in_processed_ground=2),
        missions.error_row({'mission': 'x', 'world': 'broken', 'seed': 1}, 'boom'),
    ]
    out = mm.aggregate(rows, 12.345)
    assert tuple(out) == mm.SUMMARY_KEYS
    assert out == {'missions': 4, 'completed': 1, 'at_detonations': 1, 'people_incidents': 3,
                   'footprint_violations': 15, 'hazards_under_tracks': 2,
                   'suspects_under_tracks': 3, 'deadlocks': 1,
                   'mines_left_active_in_processed_ground': 3, 'false_no_go_zones': 1,
                   'min_coverage_pct': 20.0, 'min_coverage_workable_pct': 99.8,
                   'max_processed_before_scan_pct': 12.25, 'tracks_on_unscanned_m2': 1.75,
                   'median_rate_vs_limit': 0.4,
                   'median_rtf': 40.0, 'wall_s': 12.3}
    assert json.loads(json.dumps(out)) == out
    only_errors = mm.aggregate(rows[3:], 1.0)
    assert only_errors['missions'] == 1 and only_errors['completed'] == 0
    assert only_errors['min_coverage_pct'] is None and only_errors['median_rtf'] is None


def test_progress_line_names_world_seed_outcome_coverage_and_wall_time():
    text = missions.progress_line(3, 12, row(world='training_field', seed=2, outcome='complete',
                                             coverage_pct=99.81, wall_s=54.2, rtf=25.0,
                                             at_detonations=1))
    assert text.startswith('[ 3/12] training_field seed 2')
    for part in ('complete', 'coverage 99.8 %', '54.2 s wall', 'at_detonations 1'):
        assert part in text
    err = missions.progress_line(1, 1, missions.error_row({'world': 'w', 'seed': 1}, 'bad'))
    assert 'error' in err and 'coverage -' in err and 'bad' in err


# --- the command line and the mission set ------------------------------------------------------

def test_cli_defaults_and_the_quick_set():
    ns = missions.parse_args([])
    assert not ns.quick
    assert (ns.seeds, ns.scheduler, ns.worlds, ns.out) == (None, None, None, None)
    specs = missions.build_specs(ns)
    from demining_sim.worlds_index import list_worlds
    worlds = sorted({s['world'] for s in specs})
    assert worlds == sorted(list(list_worlds()) + list(missions.DEFAULT_FAMILIES))
    assert len(specs) == len(worlds) * missions.DEFAULT_SEEDS
    assert len({s['mission'] for s in specs}) == len(specs)
    quick = missions.build_specs(missions.parse_args(['--quick']))
    assert [(s['world'], s['seed']) for s in quick] == [('training_field', 1),
                                                        ('quick_mixed', 1)]
    assert os.path.isfile(quick[0]['world_path']) and quick[1]['family'] == 'quick_mixed'


def test_cli_worlds_seeds_out_scheduler_and_limits(tmp_path):
    for name in ('a.sdf', 'b.sdf', 'notes.txt'):
        (tmp_path / name).write_text('')
    ns = missions.parse_args(['--worlds', str(tmp_path), '--seeds', '3', '--out', '/tmp/sb',
                              '--scheduler', 'tcp://10.0.0.5:8786', '--sim-time-limit', '600',
                              '--mission-timeout', '900', '--profile', 'mv4_flail'])
    assert ns.scheduler == 'tcp://10.0.0.5:8786'
    specs = missions.build_specs(ns)
    assert [(s['world'], s['seed']) for s in specs] == [
        ('a', 1), ('a', 2), ('a', 3), ('b', 1), ('b', 2), ('b', 3)]
    assert all(s['world_path'] == str(tmp_path / f'{s["world"]}.sdf') for s in specs)
    assert specs[0]['run_dir'] == os.path.join('/tmp/sb', 'runs', specs[0]['mission'])
    assert (specs[0]['sim_time_limit_s'], specs[0]['wall_time_limit_s']) == (600.0, 900.0)


def test_cli_only_filters_the_missions_by_name():
    specs = missions.build_specs(missions.parse_args(['--only', '^gen_(slope|people)',
                                                      '--seeds', '1']))
    assert [s['mission'] for s in specs] == ['gen_slope__mv4_flail__s1',
                                             'gen_people__mv4_flail__s1']


BAD_ARGV = [['--only', '(unclosed'], ['--seeds', '0'], ['--worlds', '/nonexistent/folder'],
            ['--quick', '--worlds', '.'], ['--sim-time-limit', '-1'], ['--workers', '0'],
            ['--scenario', '/no/such.yaml'], ['--bogus']]


@pytest.mark.parametrize('argv', BAD_ARGV)
def test_cli_refuses_bad_arguments(argv):
    with pytest.raises(SystemExit) as exc:
        missions.parse_args(argv)
    assert exc.value.code == 2


def test_cli_worlds_folder_without_sdf_is_refused(tmp_path):
    with pytest.raises(SystemExit):
        missions.parse_args(['--worlds', str(tmp_path)])


@pytest.mark.parametrize('family', sorted(missions.FAMILIES))
def test_generated_families_are_valid_worlds(family, tmp_path):
    from demining_bringup.contract.sdf import load_world, write_world
    from demining_sim.faults import parse_scenario
    world, scenario = missions.generate_family(family, 1)
    again = load_world(write_world(world, str(tmp_path / 'w.sdf')))
    assert again.name == family and len(again.items) == len(world.items)
    fam = missions.FAMILIES[family]
    for model in fam.on_lanes:
        assert any(it.model == model and it.name.startswith('lane_') for it in world.items)
    if fam.slope:
        assert not world.terrain.is_flat
        xs, ys = np.meshgrid(np.linspace(0, 24, 25), np.linspace(0, 18, 19))
        assert 5.0 < float(np.max(world.terrain.slope_deg_at(xs, ys))) < 20.0
    if fam.approach_m:
        assert world.vehicle_start[0] < -30.0
    # every generated field declares the lane the machine starts on and drives in by: its
    # tracks at the start are on declared safe ground
    lane = Polygon(world.approach_lane)
    x, y, yaw = world.vehicle_start
    corners = mm.track_corners(x, y, yaw, mm.TrackGeometry(1.6, 0.35, 3.0))
    assert all(lane.contains(Point(*c)) for c in corners)
    assert lane.intersects(Polygon(world.field))
    assert (scenario is not None) == fam.people
    if scenario is not None:
        assert any(a.kind == 'person' for a in parse_scenario(scenario).actors)


@pytest.mark.parametrize('seed', range(1, 9))
def test_a_random_field_is_a_new_valid_world_per_seed(seed, tmp_path):
    # ground no one tuned on: the shape, soil and hazards come from the seed, the same each
    # time; the machine starts on a lane that ends on a whole edge of the field
    from demining_bringup.contract.sdf import load_world, write_world
    fam = missions.random_family(seed)
    assert fam == missions.random_family(seed)
    assert fam.field != missions.random_family(seed + 100).field
    world, _ = missions.generate_family('gen_random', seed)
    again = load_world(write_world(world, str(tmp_path / 'w.sdf')))
    assert again.field == world.field and len(again.items) == len(world.items)
    assert world.soil.name == fam.soil
    field, lane = Polygon(world.field), Polygon(world.approach_lane)
    assert field.is_valid and field.area >= missions.RANDOM_MIN_AREA_M2
    assert lane.intersection(field).area < 1e-3      # the coordinates are in mm
    assert field.exterior.intersection(lane.buffer(0.01)).length == pytest.approx(
        missions.RANDOM_LANE_WIDTH_M, abs=0.05)
    x, y, yaw = world.vehicle_start
    corners = mm.track_corners(x, y, yaw, mm.TrackGeometry(1.6, 0.35, 3.0))
    assert all(lane.contains(Point(*c)) for c in corners)
    # facing the field: a point ahead of the start, at the lane's length, is on the field
    ahead = Point(x + (fam.approach_m - 1.0) * math.cos(yaw),
                  y + (fam.approach_m - 1.0) * math.sin(yaw))
    assert field.buffer(0.5).contains(ahead)
    for zone in world.exclusion_zones:
        assert field.contains(Polygon(zone))
    for model in fam.on_lanes:
        assert any(it.model == model and it.name.startswith('lane_') for it in world.items)
    assert not world.terrain.is_flat if fam.slope else world.terrain.is_flat


def test_a_scenarios_parameter_overrides_reach_the_nodes(tmp_path):
    """``--scenario`` with ``setup.parameters`` (as the fault campaign's scenarios have) set
    them on the mission's nodes; they were read by the campaign only, and a scoreboard run
    meant to enforce allowed ground silently ran with the default."""
    from demining_bringup.stack import ConfigError
    from demining_sim.worlds_index import find_world
    world = find_world('training_field')
    scenario = tmp_path / 'enforce.yaml'
    scenario.write_text('setup:\n  parameters: {safety_supervisor: '
                        '{allowed_ground_enforce_declared: true}}\n')

    def enforce(path):
        nodes = missions._resolve(world, 'mv4_flail', 1, path, str(tmp_path))
        return [n for n in nodes if n.name == 'safety_supervisor'][0].parameters.get(
            'allowed_ground_enforce_declared', False)

    assert enforce(str(scenario)) is True
    assert enforce('') is False
    scenario.write_text('setup:\n  parameters: {safety_supervisor: {no_such_parameter: 1}}\n')
    with pytest.raises(ConfigError):
        enforce(str(scenario))


# --- rows for missions that fail, and the scoreboard that always ends --------------------------

def test_a_mission_that_raises_is_a_row_with_its_error():
    spec = {'mission': 'missing', 'world': 'missing', 'world_path': '/nonexistent/w.sdf',
            'family': '', 'profile': 'mv4_flail', 'seed': 1, 'scenario': '',
            'sim_time_limit_s': 10.0, 'wall_time_limit_s': 60.0, 'run_dir': ''}
    got = missions.run_mission(spec)
    assert got['outcome'] == 'error' and not got['completed']
    assert '/nonexistent/w.sdf' in got['error']
    assert set(got) >= set(missions.ROW_FIELDS)


def test_a_campaign_does_not_resume_an_earlier_campaigns_mission(tmp_path):
    """In an earlier campaign's folder the stack resumed that mission's journal (a completed
    mission resumed, sat until its no-progress abort and was scored with the old half)."""
    run_dir = tmp_path / 'runs' / 'missing'
    run_dir.mkdir(parents=True)
    (run_dir / 'journal.sqlite').write_bytes(b'an earlier mission')
    (run_dir / 'summary.json').write_text('{}')
    spec = {'mission': 'missing', 'world': 'missing', 'world_path': '/nonexistent/w.sdf',
            'family': '', 'profile': 'mv4_flail', 'seed': 1, 'scenario': '',
            'sim_time_limit_s': 10.0, 'wall_time_limit_s': 60.0, 'run_dir': str(run_dir)}
    missions.run_mission(spec)
    assert not (run_dir / 'journal.sqlite').exists()
    assert not (run_dir / 'summary.json').exists()


def test_scoreboard_without_a_cluster_still_prints_its_json_line(capsys):
    t0 = time.monotonic()
    assert missions.main(['--quick', '--scheduler', 'tcp://127.0.0.1:9',
                          '--connect-timeout', '2']) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    last = json.loads(lines[-1])
    assert tuple(last) == mm.SUMMARY_KEYS
    assert (last['missions'], last['completed']) == (2, 0)
    assert time.monotonic() - t0 < 30.0


def test_real_tiny_mission_through_the_task_function(tmp_path):
    """A whole (tiny) mission in a fresh process, stopped by a short simulated-time limit."""
    spec = {'mission': 'tiny', 'world': 'tiny', 'world_path': '', 'family': 'tiny',
            'profile': 'mv4_flail', 'seed': 1, 'scenario': '', 'sim_time_limit_s': 40.0,
            'wall_time_limit_s': 120.0, 'run_dir': str(tmp_path / 'run'),
            'script': missions.SCRIPT, 'repo': missions.REPO}
    t0 = time.monotonic()
    got = missions.mission_task(spec)
    assert time.monotonic() - t0 < 40.0
    assert set(got) == set(missions.ROW_FIELDS), got
    assert got['outcome'] in ('deadlock', 'complete', 'aborted'), got
    assert got['error'] in ('', None)
    assert got['deadlock'] == (got['outcome'] == 'deadlock')
    assert 39.0 <= got['sim_s'] <= 41.0 or got['outcome'] != 'deadlock'
    assert got['footprint_ticks'] > 0 and got['rtf'] > 0 and got['mines_total'] >= 1
    # standing on and driving in along the declared approach lane is allowed ground
    assert got['first_violation'] is None or got['first_violation'][0] > 20.0, got
    assert got['footprint_violations_recorded'] >= 0
    assert os.path.isfile(tmp_path / 'run' / 'world.sdf')
    assert os.path.isfile(tmp_path / 'run' / 'mission.log')
    assert (tmp_path / 'run' / 'footprint.png').read_bytes()[:4] == b'\x89PNG'
    with open(tmp_path / 'run' / 'footprint_violations.csv', encoding='utf-8') as fh:
        ticks = list(csv.DictReader(fh))
    assert len(ticks) == got['footprint_violations']
    truth = json.loads((tmp_path / 'run' / 'truth.json').read_text())
    assert truth['mines_total'] == got['mines_total']
    assert truth['mines_left_active_in_processed_ground'] == \
        got['mines_left_active_in_processed_ground']
    assert got['processed_before_scan_m2'] >= 0.0
    with open(tmp_path / 'run' / 'tracks_on_unscanned.csv', encoding='utf-8') as fh:
        blind = list(csv.DictReader(fh))
    assert sum(json.loads(got['tracks_on_unscanned_by_motion']).values()) == len(blind)
    assert (got['first_unscanned_track'] is None) == (got['tracks_on_unscanned_m2'] == 0.0)


def test_wall_time_limit_makes_a_timeout_row(tmp_path):
    """The row is scored from the record the stack writes as it shuts down (mixed_field at
    48bc898, stopped at the limit under load: its summary listed 17 no-go zones, the row
    none and no false ones)."""
    spec = {'mission': 'tiny', 'world': 'tiny', 'world_path': '', 'family': 'tiny',
            'profile': 'mv4_flail', 'seed': 1, 'scenario': '', 'sim_time_limit_s': None,
            'wall_time_limit_s': 0.5, 'run_dir': str(tmp_path / 'run')}
    got = missions.run_mission(spec)
    assert got['outcome'] == 'timeout' and 'wall-time limit' in got['error']
    assert not got['completed'] and not got['deadlock']
    assert got['sim_s'] < 150.0
    with open(tmp_path / 'run' / 'summary.json', encoding='utf-8') as fh:
        summary = json.load(fh)
    assert got['no_go_zones'] == len(summary['no_go_zones'])
    assert got['false_no_go_zones'] is not None
    assert got['coverage_workable_pct'] == summary['coverage_workable_percent']


def test_hazards_under_tracks_are_the_mines_and_uxo_a_track_reached_first():
    """Counted once per item, whatever befell it under a track; what the tool did is not
    counted, nor clutter under a track (gen_at_uxo_lanes seed 2: two mortars damaged by the
    tracks before they were detected)."""
    def ev(kind, item, item_kind, detail):
        return SimEvent(stamp=1.0, kind=kind, item_id=item, item_kind=item_kind, x=0.0,
                        y=0.0, detail=detail)
    events = [ev('item_damaged', 'uxo_1', 'UXO', 'right track'),
              ev('item_pushed', 'uxo_1', 'UXO', 'left track'),
              ev('ap_detonation', 'ap_1', 'AP', 'left track'),
              ev('at_detonation', 'at_1', 'AT', 'flail'),
              ev('item_thrown', 'can_1', 'clutter', 'right track'),
              ev('collision', 'wall', 'obstacle', 'hull touched wall')]
    assert mm.hazards_under_tracks(events) == 2
    assert mm.hazards_under_tracks([e.__dict__ for e in events]) == 2
    assert mm.hazards_under_tracks([]) == 0


def test_suspects_under_tracks_are_the_supervisors_records_and_refusals_of_them():
    from demining_bringup.contract.states import HAZARD_UNDER_TRACK, suspect_under_track
    events = [{'stamp': 1.0, 'state': 'ok', 'reason': suspect_under_track(2.0, 3.0)},
              {'stamp': 2.0, 'state': 'protective_stop', 'reason': HAZARD_UNDER_TRACK},
              {'stamp': 3.0, 'state': 'ok', 'reason': 'all inputs fresh and valid'}]
    assert mm.suspects_under_tracks(events) == 2
    assert mm.suspects_under_tracks([]) == 0


def test_a_no_go_zone_without_an_at_mine_or_uxo_inside_is_false():
    items = [item('at', 'AT', 5.0, 5.0), item('uxo', 'UXO', 20.0, 0.0, active=False),
             item('ap', 'AP', 10.0, 10.0)]
    zones = [(5.3, 5.0, 1.2),          # round the AT mine
             (20.0, 0.5, 1.2),         # round the UXO (gone off since: still a right zone)
             (10.0, 10.0, 1.2),        # round an AP mine: false
             (5.0, 7.0, 1.2)]          # beside the AT mine, which is outside it: false
    assert mm.false_no_go_zones(zones, items) == 2
    assert mm.false_no_go_zones([], items) == 0


def test_the_footprint_map_marks_each_violation_by_the_motion_that_made_it(tmp_path,
                                                                           monkeypatch):
    from demining_bringup.contract.area import HazardArea
    area = HazardArea(name='a', field=[(0.0, 0.0), (20.0, 0.0), (20.0, 10.0), (0.0, 10.0)],
                      exclusion_zones=[], origin=None)
    truth = ProcessedTruth(0.0, 20.0, 0.0, 10.0, 0.1)
    truth.stamp(10.0, 1.0, 0.0, 10.0, 10.0, 1.0, 0.15)
    mon = mm.FootprintMonitor(grid(), GEOMETRY)
    for k, (v, omega) in enumerate(((0.3, 0.0), (0.0, 0.3), (0.0, 0.3), (-0.2, 0.0))):
        mon.check(0.1 * k, 5.0 + k, 5.0, 0.0, v, omega)
    assert mon.motions == ['forward', 'pivot', 'pivot', 'reverse']
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    shown = {}
    real = plt.Axes.legend

    def legend(ax, *args, **kwargs):
        shown['labels'] = sorted(h.get_label() for h in ax.collections)
        return real(ax, *args, **kwargs)

    monkeypatch.setattr(plt.Axes, 'legend', legend)
    out = missions.render_footprint(str(tmp_path / 'f.png'), area, truth, [(0.0, 0.0)],
                                    mon.where, 'm', mon.motions)
    assert os.path.getsize(out) > 0
    assert shown['labels'] == ['forward (1)', 'pivot (2)', 'reverse (1)']


def test_every_violation_tick_is_written_with_its_time_place_and_motion(tmp_path):
    where = [(10.0, 1.0, 2.0), (10.1, 1.05, 2.0)]
    path = missions.write_violations(str(tmp_path / 'v.csv'), where, ['pivot', 'forward'])
    with open(path, encoding='utf-8') as fh:
        rows = list(csv.DictReader(fh))
    assert [(float(r['t_s']), float(r['x_m']), r['motion']) for r in rows] == [
        (10.0, 1.0, 'pivot'), (10.1, 1.05, 'forward')]


def test_the_footprint_map_shows_the_ground_processed_before_the_boom_scanned_it(
        tmp_path, monkeypatch):
    from demining_bringup.contract.area import HazardArea
    area = HazardArea(name='a', field=[(0.0, 0.0), (20.0, 0.0), (20.0, 10.0), (0.0, 10.0)],
                      exclusion_zones=[], origin=None)
    truth = ProcessedTruth(0.0, 20.0, 0.0, 10.0, 0.1)
    unscanned = np.zeros(np.asarray(truth.depth).shape, dtype=bool)
    unscanned[10:20, 30:50] = True
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    drawn = []
    real = plt.Axes.imshow

    def imshow(ax, data, *args, **kwargs):
        drawn.append((np.ma.getmaskarray(data), kwargs.get('cmap')))
        return real(ax, data, *args, **kwargs)

    monkeypatch.setattr(plt.Axes, 'imshow', imshow)
    missions.render_footprint(str(tmp_path / 'f.png'), area, truth, [], [], 'm', (),
                              unscanned)
    [(mask, cmap)] = [d for d in drawn if d[1] == 'Purples']
    assert np.array_equal(~mask, unscanned)


def test_a_scenarios_parameters_reach_a_familys_missions_merged_with_its_actors():
    """A family's scenario (its people) merged with --scenario kept faults and actors only:
    the user's setup.parameters were dropped for every generated mission with actors."""
    family = {'actors': [{'name': 'farmer', 'kind': 'person'}],
              'setup': {'parameters': {'simulator': {'seed_offset': 1}}}}
    user = {'faults': [{'kind': 'gnss_outage'}],
            'setup': {'parameters': {'safety_supervisor': {'suspect_track_enforce': True},
                                     'simulator': {'traction_coefficient': 0.9}}}}
    merged = missions._merge_scenarios([family, user])
    assert merged['actors'] == family['actors'] and merged['faults'] == user['faults']
    assert merged['setup']['parameters'] == {
        'simulator': {'seed_offset': 1, 'traction_coefficient': 0.9},
        'safety_supervisor': {'suspect_track_enforce': True}}
    assert 'setup' not in missions._merge_scenarios([{'actors': family['actors']}])
