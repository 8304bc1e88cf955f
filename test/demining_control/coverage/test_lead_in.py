"""Lead-ins: the tool is lowered only where the sensor boom has looked first."""

import dataclasses
import math

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from demining_bringup.contract.datatypes import VehicleState
from demining_bringup.contract.states import FollowerStatus, LegKind
from demining_control.coverage.lead_in import (BLIND_TOLERANCE_M2, add_lead_ins, blind_ground,
                                               lead_band, lead_in_ahead, lowerings)
from demining_control.coverage.no_go import disc_polygon
from demining_control.coverage.planner import CoverageParams, lead_geometry, plan_coverage
from demining_control.follower.pure_pursuit import PathFollower

FIELD = box(0.0, 0.0, 20.0, 20.0)
NORTH = 0.5 * math.pi
#: A work leg east along y = 3 to (10, 3), a pivot there, a work leg north.
PIVOT_PATH = np.array([[2.0, 3.0], [10.0, 3.0], [10.0, 15.0]])
PIVOT_WORK = np.array([True, True, False])
PIVOT_FACING = np.array([0.0, NORTH, NORTH])


def _geometry():
    return lead_geometry(CoverageParams(sensor_offset_x_m=4.0, sensor_width_m=3.2,
                                        lead_in_back_up=True))


def test_a_lowering_after_a_pivot_backs_up_until_the_boom_has_seen_its_lead_band():
    # The pivot at (10, 3) faces north: the band ahead of the lowered flail (y 5.2-7.0) is
    # beyond the processed ground (y < 5.5) and beside the east leg's swath (y < 4.6)
    g = _geometry()
    processed = box(0.0, 0.0, 20.0, 5.5)
    xy, work, facing, report = add_lead_ins(PIVOT_PATH, PIVOT_WORK, PIVOT_FACING, g,
                                            field=FIELD, processed=processed,
                                            outside_safe=True, start_yaw=0.0)
    assert len(report.added) == 1 and not report.blind
    (where, back), = report.added
    assert where == pytest.approx((10.0, 3.0))
    # the shortest back-up in steps that brings the band onto processed ground: its far
    # edge (sensor_offset_x_m ahead) at or below y = 5.5
    assert 3.0 + g.sensor_offset_x_m - back <= 5.5 + 1e-9
    assert 3.0 + g.sensor_offset_x_m - (back - 0.2) > 5.5
    # a reverse leg facing north, tool raised, then the work leg from the backed-up pose
    np.testing.assert_allclose(xy, [[2.0, 3.0], [10.0, 3.0], [10.0, 3.0 - back], [10.0, 3.0],
                                    [10.0, 15.0]])
    assert work.tolist() == [True, False, True, True, False]
    np.testing.assert_allclose(facing, [0.0, NORTH, NORTH, NORTH, NORTH])
    band = lead_band(10.0, 3.0 - back, NORTH, g)
    assert band.difference(processed).area <= BLIND_TOLERANCE_M2
    # the lowering moved to the backed-up pose and is no longer blind
    assert lowerings(xy, work, facing, g.corner_angle_rad, 0.0) == [2]


def test_a_lowering_is_kept_and_reported_blind_where_no_back_up_fits():
    g = _geometry()
    # behind it is the field's unprocessed ground: the tracks may not back onto it
    behind_unprocessed = box(0.0, 3.0, 20.0, 5.5)
    # behind it is a keep-out zone right behind the hull
    zone = box(9.0, -1.0, 11.0, 3.0 - g.footprint_rear_m - 0.1)
    for processed, keep_out in ((behind_unprocessed, None), (box(0.0, 0.0, 20.0, 5.5), zone)):
        xy, work, facing, report = add_lead_ins(PIVOT_PATH, PIVOT_WORK, PIVOT_FACING, g,
                                                field=FIELD, processed=processed,
                                                keep_out=keep_out, outside_safe=True,
                                                start_yaw=0.0)
        assert not report.added and len(report.blind) == 1
        (where, area), = report.blind
        assert where == pytest.approx((10.0, 3.0)) and area > 1.0
        assert xy.tolist() == PIVOT_PATH.tolist() and work.tolist() == PIVOT_WORK.tolist()


def test_the_lead_band_is_the_tools_whole_width():
    # the outer hammers strike the band's edges too: a mine 0.98 m off the centre line of a
    # 2 m flail, 3 m ahead of base_link (in the band), is in it
    g = _geometry()
    band = lead_band(0.0, 0.0, 0.0, g)
    assert band.contains(Point(3.0, 0.98)) and band.contains(Point(3.0, -0.98))
    assert band.area == pytest.approx((g.sensor_offset_x_m - g.band_back_m) * g.tool_width_m)


def test_the_blind_ground_of_a_band_is_its_part_in_the_field_nothing_has_seen():
    # facing north at (10, 17): the band (2.2-4 m ahead) runs past the field's edge at y = 20;
    # the boom swept its western half
    g = _geometry()
    band = lead_band(10.0, 17.0, NORTH, g)
    assert blind_ground(10.0, 17.0, NORTH, g, field=FIELD).equals(band.intersection(FIELD))
    seen = box(8.0, 0.0, 10.0, 20.0)
    rest = blind_ground(10.0, 17.0, NORTH, g, field=FIELD, seen=seen)
    assert rest.area == pytest.approx(1.0 * (20.0 - 17.0 - g.band_back_m))
    assert rest.within(box(10.0, 17.0, 11.0, 20.0).buffer(1e-9))
    assert blind_ground(10.0, 17.0, NORTH, g, field=FIELD, seen=FIELD).is_empty


def test_behind_a_turn_of_a_few_tens_of_degrees_the_back_up_is_longer_than_the_band():
    # A work leg east along y = 3, then a 35 degree turn at (10, 3) (a headland pass at a
    # field corner): the new side runs off the east leg's boom swath (y <= 4.6), so the
    # band's inner far corner comes onto it only about 2.6 m back; the band's length and a
    # step (2.0 m, the longest back-up once) left it blind (bench/missions.py gen_random seed
    # 1: a TM-62P under the flail there). Behind: processed ground south of y = 3.
    g = _geometry()
    turn = math.radians(35.0)
    path = np.array([[-10.0, 3.0], [10.0, 3.0],
                     [10.0 + 12.0 * math.cos(turn), 3.0 + 12.0 * math.sin(turn)]])
    work, facing = np.array([True, True, False]), np.array([0.0, turn, turn])
    field = box(-30.0, -20.0, 40.0, 30.0)
    processed = box(-30.0, -20.0, 10.0, 3.0)
    short = dataclasses.replace(g, back_up_max_m=0.0)
    assert short.max_back_m == pytest.approx(g.sensor_offset_x_m - g.band_back_m + 0.2)
    _, _, _, before = add_lead_ins(path, work, facing, short, field=field,
                                   processed=processed, start_yaw=0.0)
    assert before.blind and before.blind[0][1] > 0.1
    xy, work2, facing2, report = add_lead_ins(path, work, facing, g, field=field,
                                              processed=processed, start_yaw=0.0)
    assert not report.blind
    (where, back), = report.added
    assert where == pytest.approx((10.0, 3.0)) and short.max_back_m < back <= 3.0 + 1e-9
    # the band lowered at the backed-up pose lies on the east leg's boom swath or the
    # processed ground
    x, y = xy[2]
    band = lead_band(x, y, turn, g)
    swath = box(-10.0 + g.sensor_offset_x_m, 3.0 - 0.5 * g.sensor_width_m,
                10.0 + g.sensor_offset_x_m, 3.0 + 0.5 * g.sensor_width_m)
    assert band.difference(swath.union(processed)).area <= BLIND_TOLERANCE_M2
    assert work2.tolist() == [True, False, True, True, False]


def test_a_partial_back_up_shortens_the_blind_band_where_no_full_one_fits():
    # processed ground behind the pivot reaches only 1.5 m back of the tracks' rear: a full
    # back-up (2.6 m: the band's 1.8 m, and its far edge onto the swath's seen half width)
    # would put them on unprocessed ground, 1.5 m fits
    g = _geometry()
    rear = 3.0 - 0.5 * g.track_length_m
    field = box(0.0, -10.0, 20.0, 20.0)
    processed = box(0.0, rear - 1.5, 20.0, 3.0)
    _, _, _, none = add_lead_ins(PIVOT_PATH, PIVOT_WORK, PIVOT_FACING, g, field=field,
                                 processed=box(0.0, rear, 20.0, 3.0), start_yaw=0.0)
    xy, work, facing, report = add_lead_ins(PIVOT_PATH, PIVOT_WORK, PIVOT_FACING, g,
                                            field=field, processed=processed, start_yaw=0.0)
    (where, back), = report.added
    (_, left), = report.blind
    (_, full), = none.blind
    assert not none.added and where == pytest.approx((10.0, 3.0))
    assert 0.0 < back <= 1.5 + 1e-9 and back > 1.5 - 0.2
    # the band moves back by as much: its rear now lies under the east leg's boom (the
    # half width it counts as seen north of y = 3) and less of it is blind
    band_top = 3.0 + g.sensor_offset_x_m - back
    width = g.tool_width_m
    assert full == pytest.approx((g.sensor_offset_x_m - g.band_back_m) * width)
    assert left == pytest.approx((band_top - (3.0 + g.seen_half_m)) * width)
    assert left < full - 0.5
    assert xy[2].tolist() == pytest.approx([10.0, 3.0 - back])
    assert work.tolist() == [True, False, True, True, False]


def test_where_no_back_up_on_processed_ground_fits_one_onto_scanned_ground_is_taken():
    """Behind the pivot lies the field's ground an earlier pass of the boom scanned and no
    tool processed: rather than lower the flail over a band nothing has looked at
    (bench/missions.py gen_at_uxo_lanes seed 1: a TM-62M 16 cm deep under it), the machine
    backs up onto the scanned ground (a footprint violation, reported), never onto a
    detected suspect and not with ``lead_in_back_up_scanned`` off."""
    g = _geometry()
    field = box(0.0, -10.0, 20.0, 20.0)
    processed = box(0.0, 2.0, 20.0, 4.0)           # the east leg's strip
    scanned = box(0.0, -6.0, 20.0, 3.0)            # an earlier pass's swath behind it

    def lead_ins(geometry, suspects=None):
        return add_lead_ins(PIVOT_PATH, PIVOT_WORK, PIVOT_FACING, geometry, field=field,
                            processed=processed, scanned=scanned, suspects=suspects,
                            start_yaw=0.0)
    xy, work, _, report = lead_ins(g)
    (where, back), = report.added
    assert report.scanned == report.added and not report.blind
    assert where == pytest.approx((10.0, 3.0)) and back >= g.band_back_up_m - 0.2 - 1e-9
    assert xy[2].tolist() == pytest.approx([10.0, 3.0 - back])
    assert work.tolist() == [True, False, True, True, False]
    # a detected suspect behind the tracks, or the option off: the lowering stays blind
    for geometry, suspects in ((g, disc_polygon(10.5, -0.5, 0.3)),
                               (dataclasses.replace(g, back_up_scanned=False), None)):
        _, _, _, report = lead_ins(geometry, suspects)
        assert not report.scanned and len(report.blind) == 1


def test_a_band_the_boom_swept_on_an_earlier_plan_needs_no_back_up():
    # the ground ahead of the pivot was scanned before this path (a re-plan's mission
    # history): looked at, although not processed and not ground for the tracks
    g = _geometry()
    behind_unprocessed = box(0.0, 3.0, 20.0, 5.5)
    scanned = box(0.0, 3.0, 20.0, 8.0)
    _, _, _, report = add_lead_ins(PIVOT_PATH, PIVOT_WORK, PIVOT_FACING, g, field=FIELD,
                                   processed=behind_unprocessed, scanned=scanned,
                                   outside_safe=True, start_yaw=0.0)
    assert not report.added and not report.blind


def test_ground_outside_the_field_takes_the_tracks_when_safe_or_the_band_is_blind_else():
    g = _geometry()
    # a pivot 1 m inside the field's south edge: a back-up puts the tracks' rear outside
    path = PIVOT_PATH - np.array([0.0, 2.0])
    processed = box(0.0, 0.0, 20.0, 3.5)
    inside_only = dataclasses.replace(g, back_up_outside=False)
    kept = add_lead_ins(path, PIVOT_WORK, PIVOT_FACING, inside_only, field=FIELD,
                        processed=processed, start_yaw=0.0)
    assert not kept[3].added and len(kept[3].blind) == 1
    safe = box(-5.0, -5.0, 25.0, 0.0)
    for kwargs in ({'outside_safe': True}, {'safe': safe}):
        out = add_lead_ins(path, PIVOT_WORK, PIVOT_FACING, inside_only, field=FIELD,
                           processed=processed, start_yaw=0.0, **kwargs)
        assert len(out[3].added) == 1 and not out[3].blind and not out[3].outside
    # Nothing declared outside, the default: rather than the flail striking the field's
    # unseen band, the tracks back out of the field (never into keep-out), and that is listed
    xy, _, _, report = add_lead_ins(path, PIVOT_WORK, PIVOT_FACING, g, field=FIELD,
                                    processed=processed, start_yaw=0.0)
    (where, back), = report.added
    (at, out_m2), = report.outside
    assert not report.blind and where == at == pytest.approx((10.0, 1.0))
    assert xy[2].tolist() == pytest.approx([10.0, 1.0 - back])
    # the ground the tracks newly press, all outside (their rear was out already)
    assert out_m2 == pytest.approx(back * 2.0 * (g.contact_half_width_m - g.tolerance_m))
    # a keep-out zone behind stops the back-up where the hull would meet it
    zone = box(5.0, -8.0, 15.0, -2.0)
    _, _, _, stopped = add_lead_ins(path, PIVOT_WORK, PIVOT_FACING, g, field=FIELD,
                                    processed=processed, start_yaw=0.0, keep_out=zone)
    assert all(b < back for _, b in stopped.added) and len(stopped.blind) == 1


def test_a_straight_run_in_and_a_boom_that_looked_before_need_no_back_up():
    g = _geometry()
    # a transit north onto the work leg: the boom swept the band on the way in
    xy = np.array([[10.0, -6.0], [10.0, 3.0], [10.0, 15.0]])
    out = add_lead_ins(xy, np.array([False, True, False]), np.full(3, NORTH), g, field=FIELD)
    assert not out[3].added and not out[3].blind and len(out[0]) == 3
    # the pivot's band was under an earlier leg's boom (a transit east along y = 6)
    xy = np.array([[0.0, 6.0], [16.0, 6.0], [10.0, 3.0], [10.0, 15.0]])
    work = np.array([False, False, True, False])
    facing = np.array([0.0, math.atan2(-3.0, -6.0), NORTH, NORTH])
    out = add_lead_ins(xy, work, facing, g, field=FIELD, start_yaw=0.0)
    assert not out[3].added and not out[3].blind
    # a re-plan that starts working straight on (the machine faces the first leg) is no
    # lowering; one that pivots first is
    first = np.array([[10.0, 3.0], [10.0, 15.0]])
    assert lowerings(first, np.array([True, False]), np.full(2, NORTH), 0.35, NORTH) == []
    assert lowerings(first, np.array([True, False]), np.full(2, NORTH), 0.35, 0.0) == [0]


def test_the_follower_backs_up_and_lowers_without_a_pivot_at_the_cusp():
    g = _geometry()
    xy, work, facing, report = add_lead_ins(PIVOT_PATH, PIVOT_WORK, PIVOT_FACING, g,
                                            field=FIELD, processed=box(0.0, 0.0, 20.0, 5.5),
                                            outside_safe=True, start_yaw=0.0)
    back = report.added[0][1]
    f = PathFollower()
    f.set_path(np.column_stack([xy, facing]), work)
    x, y, yaw, t = 10.0, 3.0, NORTH, 0.0       # at the pivot, turned north
    f.update(VehicleState(t, 2.0, 3.0, 0.0), 0.1)
    kinds, lowest = [], y
    while t < 120.0 and f.status is FollowerStatus.FOLLOWING:
        cmd = f.update(VehicleState(t, x, y, yaw), 0.1)
        if f.status is FollowerStatus.FOLLOWING:
            kinds.append(f.leg)
        x += cmd.v * math.cos(yaw) * 0.1
        y += cmd.v * math.sin(yaw) * 0.1
        yaw += cmd.omega * 0.1
        lowest = min(lowest, y)
        t += 0.1
    assert f.status is FollowerStatus.DONE
    assert lowest == pytest.approx(3.0 - back, abs=0.2)
    # reverse (tool raised), then the work leg; no pivot at the cusp
    runs = [k for i, k in enumerate(kinds) if i == 0 or k is not kinds[i - 1]]
    assert runs[runs.index(LegKind.REVERSE):] == [LegKind.REVERSE, LegKind.WORK]


def test_plans_lower_the_tool_only_where_the_boom_has_looked_or_say_where_not():
    # A square field with safe surroundings (no headland), half processed, a no-go zone in
    # the other half: every lowering of the plan has a seen band, or is reported blind.
    params = CoverageParams(sensor_offset_x_m=4.0, sensor_width_m=3.2, headland_passes='0',
                            lead_in_back_up=True)
    field = [(0.0, 0.0), (30.0, 0.0), (30.0, 24.0), (0.0, 24.0)]
    disc = Point(15.0, 17.0).buffer(1.5)
    plan = plan_coverage(field, [], (-6.0, 4.0), params, processed=box(0.0, 0.0, 30.0, 10.0),
                         safe_ground=box(-12.0, -12.0, 42.0, 36.0).difference(Polygon(field)),
                         no_go_zones=[list(disc.exterior.coords)[:-1]], start_yaw=0.0)
    g = lead_geometry(params)
    again = add_lead_ins(plan.waypoints, plan.work, plan.facing, g, field=Polygon(field),
                         processed=box(0.0, 0.0, 30.0, 10.0), outside_safe=True)
    assert plan.lead_ins.added, 'the lanes beside the zone lower the tool after pivots'
    # applied again, nothing is left to add: every lowering is seen or reported blind
    assert not again[3].added
    assert len(again[3].blind) == len(plan.lead_ins.blind)


def test_headland_corners_are_turned_where_the_boom_has_seen_the_next_side():
    # No safe surroundings: the headland passes turn their corners as bulbs. A bulb that
    # drives back far enough behind the corner lowers the tool with the lead band on the
    # incoming side's swath; a short one lowered it on unseen ground at every corner (10 of
    # 11 lowerings blind, none of them backed up: the tracks would leave the field).
    params = CoverageParams(sensor_offset_x_m=4.0, sensor_width_m=3.2, lead_in_back_up=True)
    field = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
    plan = plan_coverage(field, [], (-8.0, 10.0), params, start_yaw=0.0)
    assert plan.headland
    # the one left: the first pass's start, entered with a pivot from the start position
    assert len(plan.lead_ins.blind) <= 1
    for (x, y), _ in plan.lead_ins.blind:
        assert Polygon(field).exterior.distance(Point(x, y)) < 4.0


def test_back_ups_are_on_by_default_and_switched_off_blind_lowerings_are_only_counted():
    def lead_ins(params):
        return add_lead_ins(PIVOT_PATH, PIVOT_WORK, PIVOT_FACING, lead_geometry(params),
                            field=FIELD, processed=box(0.0, 0.0, 20.0, 5.5), outside_safe=True,
                            start_yaw=0.0)

    xy, _, _, report = lead_ins(CoverageParams(sensor_offset_x_m=4.0, sensor_width_m=3.2))
    assert len(report.added) == 1 and not report.blind and len(xy) > len(PIVOT_PATH)
    xy, _, _, report = lead_ins(CoverageParams(sensor_offset_x_m=4.0, sensor_width_m=3.2,
                                               lead_in_back_up=False))
    assert not report.added and len(report.blind) == 1
    assert xy.tolist() == PIVOT_PATH.tolist()


def test_a_pivot_whose_track_corners_swing_over_ground_nothing_has_seen_is_reported():
    from demining_control.coverage.lead_in import blind_pivots
    g = _geometry()
    # the east leg processed a 2 m strip and its boom swept 3.2 m (y 1.4-4.6); pivoting to
    # face north at (10, 3), the rear corners swing 2.2 m out (y 0.8 .. 5.2, x 7.8 .. 12.2):
    # beyond the boom's sweep that ground is the field's, and nothing has looked at it
    xy, work, facing, report = add_lead_ins(PIVOT_PATH, PIVOT_WORK, PIVOT_FACING, g,
                                            field=FIELD, processed=box(0.0, 0.0, 20.0, 1.0),
                                            outside_safe=True, start_yaw=0.0)
    (where, area), = report.blind_pivots
    assert where == pytest.approx((10.0, 3.0)) and area > 0.3
    # known ground round the pivot (processed before, or declared safe): nothing blind
    assert not blind_pivots(PIVOT_PATH, PIVOT_WORK, PIVOT_FACING, g, field=FIELD,
                            known=Point(10.0, 3.0).buffer(2.5))
    # a pass the boom swept on each side first (tool raised) leaves nothing blind either
    xy = np.array([[0.0, 1.0], [20.0, 1.0], [20.0, 5.0], [2.0, 5.0], [2.0, 3.0], [10.0, 3.0],
                   [10.0, 15.0]])
    work = np.array([False, False, False, False, True, True, False])
    facing = np.array([0.0, NORTH, math.pi, -NORTH, 0.0, NORTH, NORTH])
    assert [p for p, _ in blind_pivots(xy, work, facing, g, field=FIELD)
            if p == pytest.approx((10.0, 3.0))] == []
    # a reverse cusp is no pivot
    xy = np.array([[2.0, 3.0], [10.0, 3.0], [6.0, 3.0]])
    assert not blind_pivots(xy, np.array([True, False, False]), np.zeros(3), g, field=FIELD)


def test_the_pivot_from_the_start_facing_onto_the_first_leg_is_judged_like_the_others():
    # A re-plan from (10, 3) facing east whose first leg runs north: the machine pivots on
    # the spot first, and its tracks' corners swing over the field beside it (x 7.8 .. 12.2)
    # that nothing has looked at; the path's own legs have not either
    g = _geometry()
    xy = np.array([[10.0, 3.0], [10.0, 15.0]])
    work = np.array([False, False])
    facing = np.array([NORTH, NORTH])
    _, _, _, report = add_lead_ins(xy, work, facing, g, field=FIELD, outside_safe=True,
                                   start_yaw=0.0)
    (where, area), = report.blind_pivots
    assert report.start_pivot == (where, area)
    assert where == pytest.approx((10.0, 3.0)) and area > 1.0
    # ground the boom scanned before the plan (the strips either side) is seen
    scanned = Point(10.0, 3.0).buffer(2.5)
    _, _, _, seen = add_lead_ins(xy, work, facing, g, field=FIELD, outside_safe=True,
                                 start_yaw=0.0, scanned=scanned)
    assert seen.start_pivot is None and not seen.blind_pivots
    # facing the first leg already, or a turn the follower drives as an arc: no pivot
    for yaw in (NORTH, NORTH - 0.5 * g.corner_angle_rad):
        _, _, _, straight = add_lead_ins(xy, work, facing, g, field=FIELD, outside_safe=True,
                                         start_yaw=yaw)
        assert straight.start_pivot is None and not straight.blind_pivots
    # the facing unknown (a first plan from an unknown pose): nothing to judge
    _, _, _, unknown = add_lead_ins(xy, work, facing, g, field=FIELD, outside_safe=True)
    assert unknown.start_pivot is None


def test_a_re_plan_backs_along_the_driven_trail_to_turn_where_its_tracks_have_been_seen():
    # gen_at_uxo_lanes seed 1 at 104.6 s: on the first headland pass (y = 1, from outside the
    # field in the west) the boom found an AT mine ahead; the re-plan from (2.5, 1) facing
    # east pivoted on the spot, its tracks' corners over the field's ground north of the
    # boom's swath (nothing had looked at it), and a third of the mission's tracks on such
    # ground came from pivots like that one
    from demining_control.coverage.lead_in import START_MOVE_STEP_M
    p = CoverageParams()
    g = lead_geometry(p)
    field = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
    processed = box(0.0, 0.0, 5.0, 2.0)
    zone = list(disc_polygon(8.0, 1.5, 1.4).exterior.coords)[:-1]
    # the ground its footprint drove on, from 8 m outside the field to where it stands
    driven = box(-8.0 - p.footprint_rear_m, 1.0 - p.footprint_half_width_m,
                 2.5 + p.footprint_front_m, 1.0 + p.footprint_half_width_m)
    kwargs = dict(processed=processed, no_go_zones=[zone], start_yaw=0.0)
    stay = plan_coverage(field, [], (2.5, 1.0), p, **kwargs)
    (where, area) = stay.lead_ins.start_pivot
    assert where == pytest.approx((2.5, 1.0)) and area > 1.0
    assert stay.lead_ins.blind_pivots[0] == (where, area)
    moved = plan_coverage(field, [], (2.5, 1.0), p, driven=driven, **kwargs)
    assert moved.lead_ins.start_pivot is None
    assert sum(a for _, a in moved.lead_ins.blind_pivots) < \
        sum(a for _, a in stay.lead_ins.blind_pivots)
    assert any('before the first pivot' in note for note in moved.notes)
    # straight back along the trail, facing east (a reverse), tool raised; then the plan
    xy, facing, work = moved.waypoints, moved.facing, moved.work
    back = int(np.argmax(np.abs(facing) > 1e-9)) if np.any(np.abs(facing) > 1e-9) else len(xy)
    assert back > 1 and xy[0] == pytest.approx((2.5, 1.0))
    assert np.allclose(xy[:back, 1], 1.0) and np.all(np.diff(xy[:back, 0]) < 0.0)
    assert not work[:back - 1].any()
    end = float(xy[back - 1, 0])
    assert end <= 2.5 - START_MOVE_STEP_M and 2.5 - end <= p.start_move_max_m + 1e-9
    # the tracks pressed only the trail and processed ground on the way
    tracks = box(end - 0.5 * g.track_length_m, 1.0 - g.contact_half_width_m,
                 2.5 + 0.5 * g.track_length_m, 1.0 + g.contact_half_width_m)
    assert tracks.difference(driven.union(processed)).area < 1e-6
    # switched off: the machine pivots where it stands, and the plan says so (the ground
    # its tracks pressed standing there is not blind)
    off = plan_coverage(field, [], (2.5, 1.0), dataclasses.replace(p, start_move_max_m=0.0),
                        driven=driven, **kwargs)
    assert off.lead_ins.start_pivot[0] == where and 1.0 < off.lead_ins.start_pivot[1] < area


def test_a_pivot_is_a_turn_past_the_corner_angle_the_short_way_round():
    from demining_control.coverage.lead_in import is_pivot, pivot_sweep
    g = _geometry()
    corner = g.corner_angle_rad
    assert is_pivot(0.0, NORTH, g) and is_pivot(NORTH, 0.0, g)
    assert not is_pivot(0.0, 0.5 * corner, g) and not is_pivot(0.0, corner, g)
    # the short way round: from just below +pi to just above -pi is a small turn
    assert not is_pivot(math.pi - 0.25 * corner, -math.pi + 0.25 * corner, g)
    assert is_pivot(0.0, math.tau + 2.0 * corner, g)
    # what a turn that is no pivot sweeps: nothing
    for yaw0, yaw1 in ((0.0, NORTH), (0.0, 0.5 * corner), (3.0, -3.0)):
        assert pivot_sweep(10.0, 3.0, yaw0, yaw1, g).is_empty != is_pivot(yaw0, yaw1, g)


def test_the_ground_swept_before_a_leg_is_the_union_of_the_legs_swaths():
    """The replay unions one swath per straight run of legs (a lane resampled into
    waypoints), not one per leg: the same ground. A back-up that retraces the run, facing
    the same way, is no part of it."""
    from shapely.ops import unary_union
    from demining_control.coverage.lead_in import _Replay
    g = _geometry()
    lane = np.column_stack([np.linspace(2.0, 10.0, 17), np.full(17, 3.0)])
    # the lane east, a back-up on it (reverse, facing east) and on again, then north
    xy = np.vstack([lane, [[8.0, 3.0], [10.0, 3.0], [10.0, 3.0], [10.0, 6.0], [10.0, 9.0]]])
    facing = np.array([0.0] * 19 + [NORTH] * 3)
    work = np.array([True] * 16 + [False, True, True, True, True, False])
    replay = _Replay(xy, work, facing, g)
    assert len(replay._runs(replay.seen_idx, 'seen')) == 4
    everywhere = box(-10.0, -10.0, 30.0, 30.0)
    for k in range(len(xy)):
        seen = replay.seen_idx < k
        tool = replay.tool_idx < k
        legs_seen = unary_union(list(replay.seen[seen]) + list(replay.tool[tool]))
        assert replay.seen_before(k, everywhere).symmetric_difference(legs_seen).area < 1e-9
        legs_stood = unary_union(list(replay.tool[tool]) + list(replay.driven[seen]))
        assert replay.stood_before(k, everywhere).symmetric_difference(legs_stood).area < 1e-9
        legs_tool = unary_union(list(replay.tool[tool]))
        assert replay.stood_before(k, everywhere, driven=False).symmetric_difference(
            legs_tool).area < 1e-9


def test_a_path_with_back_ups_is_replayed_with_the_swaths_of_the_legs_it_kept():
    """After back-ups are inserted, the path's replay takes the swaths of the legs it kept
    from the replay before (two legs more before each back-up's work leg): the same
    polygons as a replay made afresh, and the same answers."""
    from demining_control.coverage.lead_in import _Replay, _with_back_ups
    g = _geometry()
    xy = np.array([[0.0, 1.0], [20.0, 1.0], [20.0, 5.0], [2.0, 5.0], [2.0, 3.0], [10.0, 3.0],
                   [10.0, 15.0], [10.0, 15.0], [4.0, 15.0]])
    work = np.array([True, False, True, False, True, True, False, True, False])
    facing = np.array([0.0, NORTH, math.pi, -NORTH, 0.0, NORTH, NORTH, math.pi, math.pi])
    inserts = [(2, np.array([18.0, 5.0])), (5, np.array([10.0, 1.5]))]
    old = _Replay(xy, work, facing, g)
    new_xy, new_work, new_facing = _with_back_ups(xy, work, facing, inserts)
    legs = np.arange(len(xy) - 1)
    new_of_old = legs + 2 * np.searchsorted([k for k, _ in inserts], legs, side='right')
    np.testing.assert_array_equal(new_xy[new_of_old], xy[:-1])
    kept = _Replay(new_xy, new_work, new_facing, g, before=(old, new_of_old))
    fresh = _Replay(new_xy, new_work, new_facing, g)
    assert kept.seen[-1] is old.seen[-1] and kept.tool[0] is old.tool[0]
    for name in ('seen', 'tool', 'driven'):
        polys, again = getattr(kept, name), getattr(fresh, name)
        assert len(polys) == len(again)
        assert all(a.equals_exact(b, 0.0) for a, b in zip(polys, again))
    points = shapely.points(np.random.default_rng(1).uniform(-2.0, 22.0, (400, 2)))
    for k in range(len(new_xy)):
        np.testing.assert_array_equal(kept.covered_before(k, points),
                                      fresh.covered_before(k, points))


def test_a_lead_band_at_the_edge_of_an_earlier_swath_is_not_counted_seen():
    """The boom's swath counts as seen only ``lead_in_scan_margin_m`` inside its edges.

    East along y = 0, then the machine steps 0.5 m north and works back west: the lowering's
    band (y -0.5 to 1.5) lies inside the first leg's swath (y within 1.6) but its north edge
    is within 0.2 m of that swath's edge, where the outer channel does not reach and a
    machine driven 0.2 m off its lane does not look (bench/missions.py gen_random seed 8: a
    TM-62P 1.45-1.5 m off an earlier leg's line went off under a flail lowered there).
    """
    xy = np.array([[0.0, 0.0], [20.0, 0.0], [20.0, 0.5], [0.0, 0.5]])
    work = np.array([True, False, True, False])
    facing = np.array([0.0, NORTH, math.pi, math.pi])
    field = box(-10.0, -10.0, 40.0, 20.0)
    for margin, judged in ((0.0, False), (0.2, True)):
        g = lead_geometry(CoverageParams(sensor_offset_x_m=4.0, sensor_width_m=3.2,
                                         lead_in_scan_margin_m=margin))
        assert g.seen_half_m == pytest.approx(1.6 - margin)
        _, _, _, report = add_lead_ins(xy, work, facing, g, field=field, start_yaw=0.0)
        lowered = [where for where, _ in report.added + report.blind]
        assert (lowered == [pytest.approx((20.0, 0.5))]) is judged, (margin, report)
        if judged:
            # the strip beyond the seen half width: 0.1 m of the band's 1.8 m length
            assert report.blind[0][1] == pytest.approx(0.1 * 1.8, abs=0.02)


def _ahead(scanned, processed=None):
    g = _geometry()
    path = np.column_stack([PIVOT_PATH, PIVOT_FACING])
    return g, path, lead_in_ahead(path, PIVOT_WORK, 1, (9.5, 3.0, 0.0), g, field=FIELD,
                                  scanned=scanned, processed=processed)


def test_a_lowering_judged_where_the_machine_is_needs_nothing_when_the_boom_scanned_its_band():
    # the band of the lowering at (10, 3) facing north: x 9-11, y 5.2-7
    _, _, (ahead, report) = _ahead(box(0.0, 0.0, 20.0, 7.5))
    assert ahead is None and not report.added and not report.blind


def test_a_lowering_judged_where_the_machine_is_backs_up_over_what_the_boom_missed():
    # the boom scanned the field only to y = 5.9: the band's far 1.1 m is blind; the tracks
    # may back onto the processed ground south of the lane
    scanned = box(0.0, 0.0, 20.0, 5.9)
    g, path, (ahead, report) = _ahead(scanned, processed=box(0.0, -8.0, 20.0, 3.0))
    assert ahead is not None and not report.blind
    rows, flags = ahead
    (where, back), = report.added
    assert where == pytest.approx((10.0, 3.0)) and 1.1 <= back <= 1.1 + 0.2 + 1e-9
    # from the pose to the lowering point, back along the new heading (tool raised, facing
    # north: a reverse leg), then the lowering from there and the rest of the path
    assert rows[0].tolist() == pytest.approx([9.5, 3.0, 0.0])
    assert rows[1].tolist() == pytest.approx([10.0, 3.0, NORTH])
    assert rows[2].tolist() == pytest.approx([10.0, 3.0 - back, NORTH])
    assert rows[3].tolist() == pytest.approx([10.0, 3.0, NORTH])
    assert np.allclose(rows[4:], path[2:])
    assert flags.tolist() == [True, False, True, True, False]
    assert lowerings(rows[:, :2], flags, rows[:, 2], g.corner_angle_rad, 0.0)[-1] == 2
    band = lead_band(10.0, 3.0 - back, NORTH, g)
    assert band.difference(scanned).area <= BLIND_TOLERANCE_M2


def test_a_back_up_judged_where_the_machine_is_never_pivots_a_track_onto_a_suspect():
    """gen_random seed 67: the machine judged a lowering ahead while facing away from the leg
    to it; the back-up's first motion, a pivot at its pose, swept a rear track over a
    detected PMN 2.2 m away."""
    g = _geometry()
    path = np.column_stack([PIVOT_PATH, PIVOT_FACING])
    scanned = box(0.0, 0.0, 20.0, 5.9)
    processed = box(8.8, -8.0, 20.0, 3.0)
    # reversing east towards the lowering: facing west, a pivot onto the leg first
    pose = (9.5, 3.0, math.pi - 0.2)
    kwargs = dict(field=FIELD, scanned=scanned, processed=processed)
    ahead, report = lead_in_ahead(path, PIVOT_WORK, 1, pose, g, **kwargs)
    assert ahead is not None and not report.blind
    # a PMN south-west of the pose: off the tracks there, off the back-up and the legs, in
    # the disc the pivot's rear track corners sweep
    suspect = disc_polygon(8.0, 1.3, 0.3)
    ahead, report = lead_in_ahead(path, PIVOT_WORK, 1, pose, g, suspects=suspect, **kwargs)
    assert ahead is None and not report.added
    (where, left), = report.blind
    assert where == pytest.approx((10.0, 3.0)) and left > BLIND_TOLERANCE_M2
    # processed, it is no suspect a track may not press
    ahead, report = lead_in_ahead(path, PIVOT_WORK, 1, pose, g, suspects=suspect,
                                  **dict(kwargs, processed=processed.union(suspect)))
    assert ahead is not None and not report.blind
