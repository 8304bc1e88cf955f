"""Local repair of the path round a new no-go zone (demining_control/coverage/repair.py)."""

import math

import numpy as np
from shapely.geometry import LineString, Point, box
from shapely.ops import unary_union

from demining_control.coverage.no_go import disc_polygon
from demining_control.coverage.planner import CoverageParams, lane_strips, plan_coverage
from demining_control.coverage.repair import (RepairGeometry, allowed_router, blocked,
                                              progress_index, repair_path)

FIELD = [(0.0, 0.0), (40.0, 0.0), (40.0, 24.0), (0.0, 24.0)]
#: Ground round the field declared safe: lanes turn outside it.
SAFE = box(-12.0, -12.0, 52.0, 36.0).difference(box(0.0, 0.0, 40.0, 24.0))
FENCE = box(-20.0, -20.0, 60.0, 44.0)
#: An AT mine's zone: a TM-62 (0.16 m) and the default 1.0 m margin.
RADIUS_M = 1.16


def _setup():
    p = CoverageParams()
    plan = plan_coverage(FIELD, [], (-8.0, 1.0), p, safe_ground=SAFE)
    path = np.column_stack([plan.waypoints, plan.facing])
    return p, plan, path, np.asarray(plan.work, dtype=bool), RepairGeometry.of(p, 10.0)


def _mid_lane(plan, path, n):
    """The waypoint half way along lane ``n``, and the point 5 m ahead of it (the boom's
    find: a zone just beyond the hull's stop distance)."""
    lane = plan.lanes[n]
    mid = (0.5 * (lane.start[0] + lane.end[0]), 0.5 * (lane.start[1] + lane.end[1]))
    k = int(np.argmin(np.hypot(path[:, 0] - mid[0], path[:, 1] - mid[1])))
    x, y, yaw = path[k]
    return k, (x + 5.0 * math.cos(yaw), y + 5.0 * math.sin(yaw))


def _router(p, g, plan, done, discs, pose=None):
    """The node's router: the lanes before ``done`` processed, and lane ``done``'s tool strip
    up to the machine at ``pose`` (x, y, yaw): the ground driven so far."""
    processed = lane_strips(plan.lanes[:done], [], p.tool_width_m)
    if pose is not None:
        x, y, yaw = pose
        tool = (x + g.tool_offset_x_m * math.cos(yaw), y + g.tool_offset_x_m * math.sin(yaw))
        lane = LineString([plan.lanes[done].tool_start, tool])
        processed = processed.union(lane.buffer(0.5 * g.tool_width_m, cap_style='flat'))

    def make():
        allowed = processed.union(SAFE)
        return allowed_router(p, g, allowed, [disc_polygon(*d) for d in discs], FENCE)
    return make


def test_a_path_clear_of_a_new_zone_is_kept_from_where_the_machine_is():
    p, plan, path, work, g = _setup()
    k, _ = _mid_lane(plan, path, 2)
    discs = [(20.0, 60.0, RADIUS_M)]           # far off the field

    def no_router():
        raise AssertionError('a path the zone does not touch needs no route')
    rep = repair_path(path, work, k, path[k], discs, g, no_router)
    assert rep is not None and rep.cuts == 0 and not rep.dropped
    assert np.allclose(rep.path, path[k:]) and np.array_equal(rep.work, work[k:])


def test_a_lane_into_a_new_zone_is_cut_backed_out_and_re_joined():
    p, plan, path, work, g = _setup()
    n = 3
    k, at = _mid_lane(plan, path, n)
    discs = [(at[0], at[1], RADIUS_M)]
    rep = repair_path(path, work, k, path[k], discs, g,
                      _router(p, g, plan, n, discs, path[k]), fence=FENCE)
    assert rep is not None and rep.cuts >= 1
    out, zone = rep.path, disc_polygon(*discs[0])
    # from the pose straight back, facing as now, then nothing of the machine near the zone
    near = np.flatnonzero(blocked(out, discs, g))
    assert np.array_equal(near, np.arange(len(near)))
    x, y, yaw = path[k]
    assert np.allclose(out[near, 2], yaw)
    along = (out[1:len(near) + 1, 0] - x) * math.cos(yaw) + (out[1:len(near) + 1, 1] - y) * \
        math.sin(yaw)
    assert np.all(along < 0.0)
    # the machine turns where the path bends (a waypoint's facing is the leg's from it): a
    # pivot put one waypoint on would sweep its reach where nobody judged it
    heading = np.arctan2(np.diff(out[:, 1]), np.diff(out[:, 0]))
    for i in range(1, len(out) - 1):
        turn = abs(math.remainder(out[i, 2] - out[i - 1, 2], 2 * math.pi))
        if turn > g.corner_angle_rad and math.dist(out[i - 1, :2], out[i, :2]) > 1e-6:
            bend = abs(math.remainder(heading[i] - heading[i - 1], 2 * math.pi))
            assert bend > 1e-3, f'a pivot at waypoint {i}, on a straight leg'
    # no work leg's tool strip reaches the zone's clearance
    for i in np.flatnonzero(rep.work):
        a, b = out[i], out[i + 1]
        tool = [(q[0] + g.tool_offset_x_m * math.cos(q[2]),
                 q[1] + g.tool_offset_x_m * math.sin(q[2])) for q in (a, b)]
        if math.dist(*tool) > 1e-6:
            strip = LineString(tool).buffer(0.5 * g.tool_width_m, cap_style='flat')
            assert strip.distance(zone) >= g.clearance_m - 1e-6
    # the far part of the cut lane is dropped (for the re-cover pass), and only lanes near it
    lane = plan.lanes[n]
    ux, uy = math.cos(yaw), math.sin(yaw)
    far = (at[0] + (RADIUS_M + 1.0) * ux, at[1] + (RADIUS_M + 1.0) * uy)
    end = lane.tool_end if (lane.tool_end[0] - at[0]) * ux + (lane.tool_end[1] - at[1]) * uy \
        > 0 else lane.tool_start
    beyond = LineString([far, end]).buffer(0.9, cap_style='flat')
    dropped = unary_union(rep.dropped)
    assert beyond.area > 10.0 and dropped.intersection(beyond).area > 0.95 * beyond.area
    assert all(d.distance(zone) < 2.0 * plan.lane_spacing_m for d in rep.dropped)
    # the lanes after the zone's neighbours are kept as they were
    last = plan.lanes[-1]
    assert np.min(np.hypot(out[:, 0] - last.end[0], out[:, 1] - last.end[1])) < 1e-6


def test_no_repair_when_the_way_back_is_blocked_too():
    """A second zone right behind: no straight way out, the caller re-plans in full."""
    p, plan, path, work, g = _setup()
    n = 3
    k, at = _mid_lane(plan, path, n)
    x, y, yaw = path[k]
    behind = (x - 4.5 * math.cos(yaw), y - 4.5 * math.sin(yaw))
    discs = [(at[0], at[1], RADIUS_M), (behind[0], behind[1], RADIUS_M)]
    assert repair_path(path, work, k, path[k], discs, g,
                       _router(p, g, plan, n, discs, path[k]), fence=FENCE) is None


def test_the_progress_is_found_forward_and_not_on_a_later_pass_over_the_same_ground():
    east = np.column_stack([np.arange(0.0, 10.5, 0.5), np.zeros(21), np.zeros(21)])
    back = east[::-1][1:]                       # reversing over the same points
    path = np.vstack([east, back])
    assert progress_index(path, 0, (3.0, 0.05), 40, 0.25, 2.0) == 6
    # on the way back, from a progress already past the turn
    assert progress_index(path, 22, (7.0, 0.0), 40, 0.25, 2.0) == 26
    # poses missed for a while: found further on than the window
    long = np.column_stack([np.arange(0.0, 60.0, 0.5), np.zeros(120), np.zeros(120)])
    assert progress_index(long, 0, (50.0, 0.3), 40, 0.25, 2.0) == 100


def test_the_progress_stays_on_a_long_leg_the_machine_is_driving():
    """gen_random seed 67: 2.3 m down a 4.5 m back-out (one leg, no waypoint between its ends)
    the machine was put on a later lane whose waypoint lay 0.5 m away."""
    back_out = np.array([[14.05, 7.54], [11.48, 3.84]])
    # on straight back, away from the machine, as a lane's waypoints are
    steps = np.arange(1, 41)[:, None]
    lanes = back_out[1] + 0.5 * steps * (back_out[1] - back_out[0]) / 4.5
    # a later lane past the window passes 0.5 m from the machine
    later = np.array([[13.0, 5.3], [12.5, 5.3], [12.0, 5.3]])
    path = np.vstack([back_out, lanes, later])
    assert progress_index(path, 0, (12.76, 5.56), 40, 0.25, 2.0) == 0
    # at the leg's end the waypoint is near again: the progress moves on as before
    assert progress_index(path, 0, (11.5, 3.9), 40, 0.25, 2.0) == 1


def test_the_progress_stays_while_the_machine_is_off_the_path():
    # east along y = 0, a lane back west 1.8 m north, then one east 3.5 m south: the machine
    # driven back off the path (a recovery) to 2.8 m from its progress, nearer the last
    # lane (2.2 m) than any waypoint near its progress, but not on it
    east = np.column_stack([np.arange(0.0, 10.5, 0.5), np.zeros(21)])
    west = np.column_stack([np.arange(10.0, -0.5, -0.5), np.full(21, 1.8)])
    path = np.vstack([east, west, east - (0.0, 3.5)])
    assert progress_index(path, 10, (2.5, -1.3), 40, 0.25, 2.0) == 10
    # back on the path, the progress goes on from there
    assert progress_index(path, 10, (6.0, 0.1), 40, 0.25, 2.0) == 12
    # driven 3.5 m back along the path, past the window's reach: nearer the west lane beyond
    # the window (1.7 m) than any waypoint in it, but on the path behind the progress
    assert progress_index(path, 17, (5.0, 0.1), 10, 0.25, 2.0) == 17


def test_a_back_out_never_reverses_onto_ground_the_machine_never_drove():
    """gen_random seed 12: a zone found just after a pivot; straight behind the new facing
    lies ground the machine never drove. With the ground it may sweep given, the repair backs
    out only over that ground, or leaves the way out to the full re-plan (None)."""
    from demining_control.coverage.no_go import footprint
    p, plan, path, work, g = _setup()
    n = 3
    k, at = _mid_lane(plan, path, n)
    discs = [(at[0], at[1], RADIUS_M)]
    hull = (g.footprint_rear_m, g.footprint_front_m, g.footprint_half_width_m)
    x, y, yaw = path[k]
    # driving the lane: the ground behind is the lane just driven, and the back-out uses it
    lane = LineString([plan.lanes[n].start, (x, y)]).buffer(2.0, cap_style='flat')
    rep = repair_path(path, work, k, path[k], discs, g, _router(p, g, plan, n, discs, path[k]),
                      fence=FENCE, ground_for=lambda: lane.union(footprint(x, y, yaw, *hull)))
    assert rep is not None and rep.cuts >= 1
    # the same spot, but the machine has just pivoted there to face the zone from the side:
    # behind it is ground nothing processed or drove
    pose = (at[0] + 2.5, at[1] - 3.0, math.atan2(3.0, -2.5))
    side = pose[2]
    here = footprint(*pose, *hull)
    free = repair_path(path, work, k, pose, discs, g, _router(p, g, plan, n, discs, path[k]),
                       fence=FENCE)
    bounded = repair_path(path, work, k, pose, discs, g,
                          _router(p, g, plan, n, discs, path[k]), fence=FENCE,
                          ground_for=lambda: here)
    # unchecked, it reverses straight behind, metres onto that ground
    assert free is not None
    out = free.path
    n_back = int(np.argmax(np.abs(out[:, 2] - side) > 1e-9))
    back = out[n_back - 1]
    assert math.dist(back[:2], pose[:2]) > 1.0
    assert footprint(back[0], back[1], side, *hull).difference(here).area > 1.0
    assert bounded is None


def test_a_cut_beside_an_exclusion_zone_with_nothing_to_re_join_ends_the_path_there():
    """bench/coverage.py --quick split_by_road, third re-plan: the last pass runs along the
    road 3.5 m off its edge, where no route may start (the router keeps a pivot's reach from
    every keep-out zone), and a new zone lies beside it. Nothing after the zone can be
    re-joined, so the path ends short of the zone (backed out only as far as a pivot keeps
    clear of it) and the rest is dropped for the re-cover pass; no full re-plan."""
    p = CoverageParams()
    g = RepairGeometry.of(p, 10.0)
    road = box(-10.0, 5.0, 60.0, 9.0)
    fence = box(-20.0, -20.0, 60.0, 30.0)
    step = p.waypoint_spacing_m
    xs = np.arange(0.0, 40.0 + 0.5 * step, step)
    # east along y 1.5 working, pivot, back west along y 3.0 working (beside the road)
    east = np.column_stack([xs, np.full(len(xs), 1.5), np.zeros(len(xs))])
    west = np.column_stack([xs[::-1], np.full(len(xs), 3.0), np.full(len(xs), math.pi)])
    path = np.vstack([east, west])
    work = np.ones(len(path), dtype=bool)
    work[len(east) - 1] = False                 # the step up to the return pass
    discs = [(25.0, -1.0, RADIUS_M)]
    allowed = box(-10.0, -10.0, 0.0, 10.0)

    def router():
        return allowed_router(p, g, allowed, [road, disc_polygon(*discs[0])], fence)
    assert not router().can_stand((20.0, 1.5)) and not router().can_stand((40.0, 3.0))
    rep = repair_path(path, work, 0, path[0], discs, g, router, fence=fence)
    assert rep is not None and rep.cuts == 1
    out = rep.path
    assert not blocked(out, discs, g).any()
    # the kept path is the east pass up to the zone, then at most a short straight back-out
    assert np.all(np.abs(out[:, 1] - 1.5) < 1e-9) and np.all(np.abs(out[:, 2]) < 1e-9)
    assert out[:, 0].max() < discs[0][0] - g.footprint_front_m
    end = out[-1]
    assert math.hypot(end[0] - discs[0][0], end[1] - discs[0][1]) >= \
        RADIUS_M + g.turn_reach_m + g.clearance_m
    assert not rep.work[-1]
    # the rest of the east pass and the whole return pass are left for the re-cover pass
    dropped = unary_union(rep.dropped)
    rest = LineString([(end[0] + g.tool_offset_x_m + 1.0, 1.5), (40.0 + g.tool_offset_x_m, 1.5)])
    assert dropped.intersection(rest.buffer(0.9, cap_style='flat')).area > \
        0.95 * rest.buffer(0.9, cap_style='flat').area
    back = LineString([(40.0 - g.tool_offset_x_m, 3.0), (0.0 - g.tool_offset_x_m, 3.0)])
    assert dropped.intersection(back.buffer(0.9, cap_style='flat')).area > \
        0.95 * back.buffer(0.9, cap_style='flat').area


def _leg(a, b, yaw, step):
    """Waypoints from ``a`` up to (not including) ``b``, facing ``yaw``."""
    n = max(1, int(math.ceil(math.dist(a, b) / step)))
    t = np.linspace(0.0, 1.0, n + 1)[:-1, None]
    pts = np.asarray(a) + t * (np.asarray(b) - np.asarray(a))
    return np.column_stack([pts, np.full(len(pts), yaw)])


def _path_of(legs, step):
    """The path (x, y, facing) and work flags of straight ``legs`` (a, b, yaw, work), the
    last leg's end included."""
    rows = [_leg(a, b, yaw, step) for a, b, yaw, _ in legs]
    end, yaw = legs[-1][1], legs[-1][2]
    rows.append(np.array([[end[0], end[1], yaw]]))
    work = np.concatenate([np.full(len(r), w) for r, (*_, w) in zip(rows, legs)] + [[False]])
    return np.vstack(rows), work


def test_the_link_pivots_where_the_tracks_sweep_stays_on_allowed_ground():
    """A machine on a lane turns onto a headland band: the router's corner hugged the band's
    inner edge, and the pivot there swept the tracks' rear corners over the unprocessed lane
    beside (bench/coverage.py --quick cratered_field: 37 field violations against the full
    re-plan's 25). The corner goes where the band has room for the pivot."""
    from demining_control.coverage.allowed import ContactParams, check_path
    p = CoverageParams()
    g = RepairGeometry.of(p, 10.0)
    band = box(30.0, -8.0, 37.0, 20.0)          # the headland, processed
    lane = box(12.0, 8.5, 30.0, 11.5)           # the lane driven so far, processed
    fence = box(-10.0, -15.0, 50.0, 30.0)
    s = p.waypoint_spacing_m
    # the lane on west (work), down, back east below it, and up the band (work)
    legs = [((30.0, 10.0), (0.0, 10.0), math.pi, True),
            ((0.0, 10.0), (0.0, 2.0), -0.5 * math.pi, False),
            ((0.0, 2.0), (33.5, 2.0), 0.0, False),
            ((33.5, 2.0), (33.5, 18.0), 0.5 * math.pi, True)]
    path, work = _path_of(legs, s)
    discs = [(8.0, 10.0, RADIUS_M)]                 # the lane ahead
    k = int(np.argmin(np.hypot(path[:, 0] - 16.0, path[:, 1] - 10.0)))
    allowed = band.union(lane)

    def router():
        return allowed_router(p, g, allowed, [disc_polygon(*discs[0])], fence)
    rep = repair_path(path, work, k, path[k], discs, g, router, fence=fence)
    assert rep is not None and rep.cuts == 1
    check = check_path(rep.path, rep.work, [(-8.0, -12.0), (45.0, -12.0), (45.0, 28.0),
                                            (-8.0, 28.0)],
                       [list(disc_polygon(*discs[0]).exterior.coords)[:-1]], allowed,
                       ContactParams(resolution_m=0.1))
    assert check.keep_out_at == []
    assert check.field_violations == []
    # every pivot's sweep of the tracks is on allowed ground (within the router's cell)
    turn = np.abs(np.angle(np.exp(1j * np.diff(rep.path[:, 2]))))
    corners = rep.path[1:][turn > p.corner_angle_rad]
    assert len(corners)
    assert all(Point(x, y).buffer(g.track_pivot_m - 0.1).within(allowed) for x, y, _ in corners)


def _blind_turns(path, sight, g):
    """Unseen ground the tracks sweep over every pivot of ``path``, m^2, and where."""
    out = []
    for prev, row in zip(path[:-1], path[1:]):
        turn = abs(math.remainder(row[2] - prev[2], math.tau))
        if g.corner_angle_rad < turn < g.reverse_turn_rad:
            blind = sight.blind_m2(row[0], row[1], prev[2], row[2])
            if blind > 0.0:
                out.append(((round(row[0], 2), round(row[1], 2)), round(blind, 2)))
    return out


def test_a_turn_off_a_lane_short_of_a_new_zone_is_made_where_the_tracks_sweep_seen_ground():
    """A machine 3.4 m into a lane in unscanned ground meets a new zone ahead. Turning where
    it stands swings the tracks' ends past the boom's swath over the neighbouring strip, which
    nothing has looked at (bench/missions.py gen_at_uxo_lanes seed 2 at 5e078c9: a TM-62P
    went off there, 2.1 m beside base_link). The repair goes back the way the machine came,
    down the lane and to the pivot it turned onto the lane with, where its turn is seen."""
    from demining_control.coverage.no_go import footprint
    from demining_control.coverage.planner import lead_geometry
    from demining_control.coverage.repair import PivotSight
    p = CoverageParams(sensor_width_m=3.2)         # the shipped carrier's boom
    g = RepairGeometry.of(p, 10.0)
    s = p.waypoint_spacing_m
    field = box(0.0, -8.0, 37.0, 24.0)
    band = box(30.0, 11.0, 37.0, 24.0)              # a headland, processed
    fence = box(-10.0, -15.0, 50.0, 30.0)
    # a transit north along x = 32 (scanned, not processed), a pivot onto the lane at
    # (32, 10), west along it to (28.6, 10)
    trail = [(32.0, y, 0.5 * math.pi) for y in np.arange(0.0, 10.0, 0.25)]
    trail += [(32.0, 10.0, a) for a in np.linspace(0.5 * math.pi, math.pi, 6)]
    trail += [(x, 10.0, math.pi) for x in np.arange(32.0, 28.6, -0.25)]
    pose = (28.6, 10.0, math.pi)
    half_boom = 0.5 * p.sensor_width_m
    processed = band.union(box(pose[0] - g.tool_offset_x_m, 9.0, 32.0, 11.0))
    scanned = unary_union([
        box(pose[0] - p.sensor_offset_x_m - 0.5, 10.0 - half_boom, 32.0, 10.0 + half_boom),
        box(32.0 - half_boom, -8.0, 32.0 + half_boom, 10.0 + p.sensor_offset_x_m)])
    tracks = (0.5 * p.track_length_m, 0.5 * p.track_length_m, p.contact_half_width_m)
    pressed = unary_union([footprint(x, y, yaw, *tracks) for x, y, yaw in trail])
    # the lane on west (work), up, the next lane back east (work), onto the band and up it
    legs = [((28.6, 10.0), (2.0, 10.0), math.pi, True),
            ((2.0, 10.0), (2.0, 13.0), 0.5 * math.pi, False),
            ((2.0, 13.0), (29.0, 13.0), 0.0, True),
            ((29.0, 13.0), (33.5, 13.0), 0.0, False),
            ((33.5, 13.0), (33.5, 20.0), 0.5 * math.pi, True)]
    path, work = _path_of(legs, s)
    discs = [(22.0, 10.0, RADIUS_M)]                # the lane ahead: found by the boom

    def router():
        return allowed_router(p, g, processed, [disc_polygon(*discs[0])], fence)
    sight = PivotSight(lead_geometry(p), field, unary_union([processed, scanned, pressed]),
                       trail)
    plain = repair_path(path, work, 0, pose, discs, g, router, fence=fence)
    assert plain is not None and _blind_turns(plain.path, sight, g), \
        'the turn where the back-out ends is blind'
    rep = repair_path(path, work, 0, pose, discs, g, router, fence=fence,
                      sight_for=lambda: sight)
    assert rep is not None and rep.cuts == 1
    assert _blind_turns(rep.path, sight, g) == []

    # back the way it came, along the lane in reverse facing west, further than the plain
    # back-out, before its first turn
    def first_turn(path):
        turn = np.abs(np.angle(np.exp(1j * np.diff(path[:, 2]))))
        return int(np.flatnonzero(turn > g.corner_angle_rad)[0]) + 1
    k = first_turn(rep.path)
    assert rep.path[k, 0] > plain.path[first_turn(plain.path), 0] + 0.5
    assert np.allclose(rep.path[:k, 1], 10.0) and np.allclose(rep.path[:k, 2], math.pi)
    assert np.flatnonzero(blocked(rep.path, discs, g)).size == 0
