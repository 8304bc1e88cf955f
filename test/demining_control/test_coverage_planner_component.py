"""The coverage planner component: first plan, and a re-plan around a new AT no-go zone."""

import math

import numpy as np
import pytest
from shapely.geometry import LineString, Point, Polygon, box
from shapely.ops import unary_union

from demining_bringup.contract.datatypes import (Detection, DetectionKind, Detections, Grid,
                                                 Twist2D, VehicleState)
from demining_bringup.contract.states import FollowerStatus, PlanState
from demining_bringup.hosts.runtime import ComponentRuntime, RecordingLog
from demining_control.coverage.lead_in import lead_band, lowerings
from demining_control.coverage.no_go import disc_polygon
from demining_control.coverage.planner import NOTHING_LEFT, lane_strips, lead_geometry
from demining_control.coverage_planner_node import CoveragePlannerComponent
from demining_control.follower.pure_pursuit import PathFollower


def _runtime(area_file, **params):
    out = []
    # the paths it emits (its latched status goes to a list of its own)
    rt = ComponentRuntime(CoveragePlannerComponent,
                          sink=lambda p, v: out.append((p, v)) if p == 'path' else None,
                          log=RecordingLog())
    rt.configure({'area_file': area_file, **params})
    rt.activate(0.0)
    return rt, out


def _drive_east(rt, x0, x1, y, t0, t1):
    """Poses every 0.1 m from (x0, y) to (x1, y), facing east (the driven trail)."""
    xs = np.linspace(x0, x1, int(round((x1 - x0) / 0.1)) + 1)
    for x, t in zip(xs, np.linspace(t0, t1, len(xs))):
        rt.deliver('pose', VehicleState(float(t), float(x), y, 0.0), float(t))


def test_a_new_at_zone_ahead_makes_a_path_that_backs_out_then_avoids_it(area_file):
    rt, out = _runtime(area_file, replan_mode='full')
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    assert len(out) == 1
    # driving east along the first lane; the boom (4 m ahead) finds an AT mine
    _drive_east(rt, -5.0, 6.0, 1.0, 1.0, 50.0)
    pose = VehicleState(50.0, 6.0, 1.0, 0.0)
    at = Detection(x=10.0, y=1.0, depth=0.2, confidence=0.9, kind=DetectionKind.AT,
                   radius=0.16)
    rt.deliver('detections', Detections(50.0, [at]), 50.0)
    assert len(out) == 2
    path = np.asarray(out[-1][1])
    # from where it is, straight back facing as now (a reverse leg), then the re-plan
    assert np.allclose(path[0], (6.0, 1.0, 0.0))
    assert path[1][0] < path[0][0] and abs(path[1][1] - 1.0) < 1e-9
    follower = PathFollower()
    follower.set_path(path)
    cmd = follower.update(pose, 0.1)
    assert cmd.v < 0.0 and cmd.omega == pytest.approx(0.0, abs=1e-6)
    zone = disc_polygon(10.0, 1.0, 1.16)
    # the re-planned lanes keep the tool out of the zone
    for lane in rt.component.plan.lanes:
        strip = LineString([lane.tool_start, lane.tool_end]).buffer(1.0, cap_style='flat')
        assert strip.intersection(zone).area < 1e-6
    assert not zone.contains(Point(*path[-1]))
    # the status names the path's work legs for the follower: the back-out is none of them
    st = rt.component.status
    assert st.waypoints == len(path)
    work = np.zeros(len(path), dtype=bool)
    for a, b in st.work:
        work[a:b] = True
    assert not work[0] and np.array_equal(work[1:], rt.component.plan.work)
    # the same detection again: no new plan
    rt.deliver('detections', Detections(51.0, [at]), 51.0)
    assert len(out) == 2


def _drive(rt, path, upto, t0=1.0):
    """Poses along ``path`` up to waypoint ``upto`` (as localisation would publish them)."""
    for k in range(upto + 1):
        x, y, yaw = path[k]
        rt.deliver('pose', VehicleState(t0 + 0.1 * k, x, y, yaw), t0 + 0.1 * k)


def _processed_upto(rt, path, work, k, stamp):
    """The processed grid after driving ``path`` to waypoint ``k``: the tool's strips."""
    import shapely
    from shapely.ops import unary_union
    c = rt.component.config
    strips = []
    for i in np.flatnonzero(work[:k]):
        (x0, y0, a0), (x1, y1, a1) = path[i], path[i + 1]
        tool = [(x0 + c.tool_offset_x_m * np.cos(a0), y0 + c.tool_offset_x_m * np.sin(a0)),
                (x1 + c.tool_offset_x_m * np.cos(a1), y1 + c.tool_offset_x_m * np.sin(a1))]
        strips.append(LineString(tool).buffer(0.5 * c.tool_width_m, cap_style='flat'))
    res, x0, y0 = 0.1, -10.0, -10.0
    xs, ys = np.meshgrid(x0 + (np.arange(500) + 0.5) * res, y0 + (np.arange(400) + 0.5) * res)
    done = shapely.contains_xy(unary_union(strips), xs, ys)
    rt.deliver('processed', Grid(stamp, np.where(done, 100, 0).astype(np.int8), x0, y0, res),
               stamp)


def test_a_new_at_zone_ahead_is_repaired_round_without_a_full_re_plan(area_file):
    """The default response: the legs past the zone are cut, the machine backs out over the
    ground it drove and re-joins the old path at the next clear leg; the rest is kept."""
    rt, out = _runtime(area_file)
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    old = np.asarray(out[-1][1])
    plan = rt.component.plan
    # half way along the first lane that is long enough, driving
    lane = max(plan.lanes[:3], key=lambda ln: abs(ln.end[0] - ln.start[0]))
    k = int(np.argmin(np.hypot(old[:, 0] - 0.5 * (lane.start[0] + lane.end[0]),
                               old[:, 1] - 0.5 * (lane.start[1] + lane.end[1]))))
    _drive(rt, old, k)
    _processed_upto(rt, old, rt.component.work, k, 49.0)
    x, y, yaw = old[k]
    ahead = (x + 5.0 * np.cos(yaw), y + 5.0 * np.sin(yaw))   # the boom finds an AT mine
    at = Detection(x=ahead[0], y=ahead[1], depth=0.2, confidence=0.9, kind=DetectionKind.AT,
                   radius=0.16)
    rt.deliver('detections', Detections(50.0, [at]), 50.0)
    path = np.asarray(out[-1][1])
    c = rt.component
    assert c.repairs == 1 and c.replans == 0 and c.plan is plan       # not re-planned
    assert c.repaired                   # the path in force is the repair's
    assert np.allclose(path[0], old[k])
    # first straight back, facing as now, over the lane just driven
    assert path[1][0] * np.cos(yaw) + path[1][1] * np.sin(yaw) < \
        x * np.cos(yaw) + y * np.sin(yaw)
    assert path[1][2] == pytest.approx(yaw)
    # nothing of the machine comes near the zone (hull, and pivots at corners) but on the
    # straight back-out from where the boom found it
    from demining_control.coverage.repair import RepairGeometry, blocked
    g = RepairGeometry.of(c.config, c.config.back_out_max_m)
    near = np.flatnonzero(blocked(path, c.no_go.discs, g))
    assert np.array_equal(near, np.arange(len(near)))
    assert np.allclose(path[near, 2], yaw) and np.allclose(path[near, 1], y)
    # most of the path is the old one (only the legs that pass the zone changed), and what
    # was cut is said, for the re-cover pass
    kept = [np.min(np.hypot(*(old[k:, :2] - p[:2]).T)) < 1e-6 for p in path]
    assert np.mean(kept) > 0.5
    assert any('left for the re-cover pass' in text for _, text, _ in rt.component.log.lines)
    # the status names the repaired path's work legs
    st = c.status
    assert st.state == PlanState.PLANNED.value and st.waypoints == len(path)
    work = np.zeros(len(path), dtype=bool)
    for a, b in st.work:
        work[a:b] = True
    assert np.array_equal(work, c.work) and not work[0]
    # the same detection again: nothing new
    rt.deliver('detections', Detections(51.0, [at]), 51.0)
    assert c.repairs == 1 and len(out) == 2


def test_a_transit_driven_tool_down_is_timed_at_the_working_speed():
    """A transit over unprocessed ground is driven as a work leg (its flags say so); it was
    timed at the transit speed."""
    from demining_control.coverage.planner import CoverageParams, plan_coverage
    field = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
    p = CoverageParams(headland_passes='0')
    plan = plan_coverage(field, [], (15.0, 10.0), p)       # from the middle, to the edge
    assert plan.transit_over_unprocessed_m > 10.0
    xy = np.asarray(plan.waypoints)
    steps = np.hypot(*np.diff(xy, axis=0).T)
    work = np.asarray(plan.work[:-1], dtype=bool)
    assert plan.work_length_m == pytest.approx(float(np.sum(steps[work])))
    assert plan.transit_length_m == pytest.approx(float(np.sum(steps[~work])))
    assert plan.work_length_m + plan.transit_length_m == pytest.approx(plan.length_m)


def _journal(run_dir, area_file, share, relabel=None):
    """A journal of the area with the western ``share`` of it processed and one AT track
    (``relabel``: later re-labelled so)."""
    from demining_bringup.contract.area import load_area
    from demining_bringup.contract.journal import GridGeometry, JournalWriter, journal_path
    from demining_control.coverage.processed import ProcessedGrid
    area = load_area(area_file)
    g = ProcessedGrid(area.field, area.exclusion_zones, 0.1)
    xs = [p[0] for p in area.field]
    cut = min(xs) + share * (max(xs) - min(xs))
    cells_x = g.origin_x + (np.arange(g.width) + 0.5) * g.resolution
    j = JournalWriter(journal_path(str(run_dir)), {}, GridGeometry(
        g.origin_x, g.origin_y, g.resolution, g.width, g.height))
    j.progress(1.0, np.broadcast_to(cells_x < cut, g.processed.shape), 0.0, 0.0)
    at = Detection(x=max(xs) - 3.0, y=1.0, depth=0.2, confidence=0.9, kind=DetectionKind.AT,
                   radius=0.16, id=4)
    j.tracks(1.0, [at])
    if relabel is not None:
        j.tracks(1.5, [Detection(**{**at.__dict__, 'kind': relabel})])
    j.commit(1.0)
    j.close()
    return cut


def _resumed(area_file, run_dir):
    out = []
    # the paths it emits (its latched status goes to a list of its own)
    rt = ComponentRuntime(CoveragePlannerComponent,
                          sink=lambda p, v: out.append((p, v)) if p == 'path' else None,
                          log=RecordingLog())
    rt.configure({'area_file': area_file, 'resume_dir': str(run_dir)})
    rt.activate(0.0)
    return rt, out


def test_a_resumed_plan_covers_only_the_remaining_ground(area_file, tmp_path):
    cut = _journal(tmp_path, area_file, 0.5)
    rt, out = _resumed(area_file, tmp_path)
    assert len(rt.component.no_go.discs) == 1
    rt.deliver('pose', VehicleState(0.0, cut, 1.0, 0.0), 0.0)
    assert len(out) == 1
    for lane in rt.component.plan.lanes:      # no lane in the processed half
        assert max(lane.tool_start[0], lane.tool_end[0]) > cut - 1e-6


def test_a_resumed_planner_keeps_a_zone_whose_track_was_re_labelled(area_file, tmp_path):
    # the live planner kept the zone (zones only grow): the resumed one must too
    _journal(tmp_path, area_file, 0.5, relabel=DetectionKind.AP)
    rt, _ = _resumed(area_file, tmp_path)
    assert len(rt.component.no_go.discs) == 1


def test_a_resumed_mission_with_nothing_left_gets_a_path_that_is_done(area_file, tmp_path):
    _journal(tmp_path, area_file, 1.5)
    rt, out = _resumed(area_file, tmp_path)
    rt.deliver('pose', VehicleState(0.0, 3.0, 2.0, 0.0), 0.0)
    assert len(out) == 1 and np.allclose(out[0][1][:, :2], [[3.0, 2.0]])
    assert not rt.component.error


def _statuses(area_file, **overrides):
    """A planner runtime whose paths and statuses are kept in one list."""
    out = []
    rt = ComponentRuntime(CoveragePlannerComponent, sink=lambda p, v: out.append((p, v)),
                          log=RecordingLog())
    rt.configure({'area_file': area_file, **overrides})
    rt.activate(0.0)
    return rt, out


def _processed(rt, stamp, skip_y=None):
    """Deliver a processed grid of the whole field but (``skip_y``) one band of rows, m."""
    res = 0.1
    values = np.full((200, 300), 100, dtype=np.int8)
    if skip_y is not None:
        values[int(skip_y[0] / res):int(skip_y[1] / res), :] = 0
    rt.deliver('processed', Grid(stamp, values, 0.0, 0.0, res), stamp)


def test_a_resumed_mission_with_nothing_left_says_the_coverage_is_final(area_file, tmp_path):
    _journal(tmp_path, area_file, 1.5)
    rt, _ = _resumed(area_file, tmp_path)
    rt.deliver('pose', VehicleState(0.0, 3.0, 2.0, 0.0), 0.0)
    assert rt.component.status.state == PlanState.COMPLETE.value
    assert rt.component.status.reason.startswith(NOTHING_LEFT)


def test_ground_the_driven_path_left_is_re_covered_then_the_coverage_is_final(area_file):
    rt, out = _statuses(area_file)
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    rt.deliver('follower', FollowerStatus.FOLLOWING, 1.0)
    # the path is driven, but a stop lifted the tool over a band across the field
    rt.deliver('pose', VehicleState(500.0, 15.0, 21.0, 0.0), 500.0)
    _processed(rt, 500.0, skip_y=(8.0, 10.0))
    n = len(out)
    rt.deliver('follower', FollowerStatus.DONE, 500.0)
    paths = [v for p, v in out[n:] if p == 'path']
    assert len(paths) == 1 and rt.component.status.state == PlanState.PLANNED.value
    band = Polygon([(0.0, 8.0), (30.0, 8.0), (30.0, 10.0), (0.0, 10.0)])
    plan = rt.component.plan
    strips = lane_strips(plan.lanes, plan.headland, rt.component.config.tool_width_m)
    assert strips.intersection(band).area > 0.95 * band.area
    assert rt.component.status.waypoints == len(paths[0])
    # driven again, all processed: final, and no more paths
    _processed(rt, 700.0)
    rt.deliver('follower', FollowerStatus.FOLLOWING, 501.0)
    rt.deliver('follower', FollowerStatus.DONE, 700.0)
    assert rt.component.status.state == PlanState.COMPLETE.value
    n = len(out)
    rt.deliver('follower', FollowerStatus.DONE, 701.0)
    assert len(out) == n


def test_re_cover_passes_are_bounded(area_file):
    rt, out = _statuses(area_file, max_recover_passes=1)
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    for k in range(2):
        _processed(rt, 500.0 + k, skip_y=(8.0, 10.0))     # the band is never processed
        rt.deliver('follower', FollowerStatus.DONE, 500.0 + k)
        rt.deliver('follower', FollowerStatus.FOLLOWING, 500.5 + k)
    st = rt.component.status
    assert st.state == PlanState.COMPLETE.value and rt.component.recover_passes == 1
    assert st.reason.startswith('1 re-cover passes made; 60.0 m^2')
    assert sum(1 for p, _ in out if p == 'path') == 2


@pytest.mark.parametrize('reprocess,max_s', [(True, 900.0), (True, 1.0), (False, 900.0)])
def test_suspects_on_processed_ground_get_a_second_pass_before_the_coverage_is_final(
        area_file, reprocess, max_s):
    """gen_lshape_sand_rows seeds 66 and 67: a PMA-2 each, tracked as unknown, was left
    intact under the flail (a chain flail leaves about 10 % of AP mines live) and the
    mission completed. With ``reprocess_suspects``, a finished coverage first gets one more
    pass of the tool over each AP and unknown track on processed ground (not clutter), its
    report unchanged; past ``reprocess_max_s`` the pass keeps the likeliest mines: an unknown
    track's confidence is its P(no hazard), an AP track's its P(AP)."""
    rt, out = _statuses(area_file, reprocess_suspects=reprocess, reprocess_max_s=max_s)
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    rt.deliver('follower', FollowerStatus.FOLLOWING, 1.0)
    rt.deliver('pose', VehicleState(500.0, 15.0, 21.0, 0.0), 500.0)
    _processed(rt, 500.0)
    ap = Detection(x=22.0, y=15.0, depth=0.1, confidence=0.4, kind=DetectionKind.AP,
                   radius=0.05)
    unknown = Detection(x=8.0, y=6.0, depth=0.1, confidence=0.1, kind=DetectionKind.UNKNOWN,
                        radius=0.05)
    clutter = Detection(x=15.0, y=10.0, depth=0.1, confidence=0.9,
                        kind=DetectionKind.CLUTTER, radius=0.05)
    rt.deliver('detections', Detections(500.0, [unknown, clutter, ap]), 500.0)
    n = len(out)
    rt.deliver('follower', FollowerStatus.DONE, 500.0)
    c = rt.component
    paths = [v for p, v in out[n:] if p == 'path']
    if not reprocess:
        assert not paths and c.status.state == PlanState.COMPLETE.value
        assert 'second pass' not in c.status.reason
        return
    assert paths and c.status.state == PlanState.PLANNED.value and not c.status.unreached
    strips = lane_strips(c.plan.lanes, c.plan.headland, c.config.tool_width_m)
    passes = [d for d in (ap, unknown) if strips.contains(Point(d.x, d.y).buffer(0.3))]
    assert passes == ([unknown] if max_s < 10.0 else [ap, unknown])
    assert not strips.intersects(Point(clutter.x, clutter.y))
    # driven, everything processed: final, saying so, and no more paths
    _processed(rt, 700.0)
    rt.deliver('follower', FollowerStatus.FOLLOWING, 501.0)
    rt.deliver('follower', FollowerStatus.DONE, 700.0)
    assert c.status.state == PlanState.COMPLETE.value
    assert f'second pass over {len(passes)} detected suspect(s)' in c.status.reason
    n = len(out)
    rt.deliver('follower', FollowerStatus.DONE, 701.0)
    assert len(out) == n


@pytest.mark.parametrize('done_at', [500.0, 8000.0])
def test_a_second_pass_is_planned_at_the_missions_pace_and_ended_past_reprocess_max_s(
        area_file, done_at):
    """gen_lshape_sand_rows seed 67: the second pass over 16 suspects was planned to take
    806 s, but the mission had taken 4.5 times its first plan's expected time (the tool
    governed slower in sand), and after 1,800 s of the pass the mission manager's
    no-progress watchdog aborted the mission. The pass is planned at the mission's pace,
    and ended where the machine is once it has lasted ``reprocess_max_s``."""
    rt, out = _statuses(area_file, reprocess_max_s=150.0)
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    c = rt.component
    expected = c.plan.expected_time_s
    assert c.first_plan == (0.0, expected) and expected > 1000.0
    rt.deliver('follower', FollowerStatus.FOLLOWING, 1.0)
    rt.deliver('pose', VehicleState(done_at, 15.0, 21.0, 0.0), done_at)
    _processed(rt, done_at)
    ap = Detection(x=22.0, y=15.0, depth=0.1, confidence=0.4, kind=DetectionKind.AP,
                   radius=0.05)
    unknown = Detection(x=8.0, y=6.0, depth=0.1, confidence=0.9, kind=DetectionKind.UNKNOWN,
                        radius=0.05)
    rt.deliver('detections', Detections(done_at, [unknown, ap]), done_at)
    rt.deliver('follower', FollowerStatus.DONE, done_at)
    assert c.status.state == PlanState.PLANNED.value and c.second_pass_since == done_at
    pace = max(1.0, done_at / expected)
    assert c.plan.expected_time_s * pace <= 150.0 or c.second_pass[1] == 1
    assert c.second_pass[1] == (2 if done_at < expected else 1)
    rt.deliver('follower', FollowerStatus.FOLLOWING, done_at + 1.0)
    rt.deliver('pose', VehicleState(done_at + 149.0, 15.0, 15.0, 0.0), done_at + 149.0)
    assert c.status.state == PlanState.PLANNED.value
    n = len(out)
    rt.deliver('pose', VehicleState(done_at + 150.0, 15.0, 15.0, 0.0), done_at + 150.0)
    (_, path), = [(p, v) for p, v in out[n:] if p == 'path']
    assert np.allclose(path, [[15.0, 15.0, 0.0]]) and c.second_pass_since is None
    assert c.status.state == PlanState.COMPLETE.value
    assert c.status.reason.endswith('ended after 150 s (reprocess_max_s)')


def test_a_second_pass_ends_before_the_no_progress_watchdog_would_end_the_mission(area_file):
    """The pass processes no new ground: after re-cover passes that processed none either,
    the mission manager's ``no_progress_abort_s`` (one parameter for both nodes) would abort
    the mission within ``reprocess_max_s``. The pass ends 60 s before that, where the
    machine is, and the coverage is final."""
    rt, out = _statuses(area_file, reprocess_max_s=1500.0, no_progress_abort_s=1800.0)
    c = rt.component
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    rt.deliver('follower', FollowerStatus.FOLLOWING, 1.0)
    _processed(rt, 100.0)           # the last new ground; re-cover passes found none after
    ap = Detection(x=22.0, y=15.0, depth=0.1, confidence=0.9, kind=DetectionKind.AP,
                   radius=0.05)
    rt.deliver('detections', Detections(1000.0, [ap]), 1000.0)
    rt.deliver('pose', VehicleState(1000.0, 15.0, 21.0, 0.0), 1000.0)
    _processed(rt, 1000.0)
    rt.deliver('follower', FollowerStatus.DONE, 1000.0)
    assert c.status.state == PlanState.PLANNED.value and c.field_progress[1] == 100.0
    rt.deliver('pose', VehicleState(1839.0, 20.0, 15.0, 0.0), 1839.0)
    assert c.status.state == PlanState.PLANNED.value
    rt.deliver('pose', VehicleState(1840.0, 20.0, 15.0, 0.0), 1840.0)
    assert c.status.state == PlanState.COMPLETE.value
    assert c.status.reason.endswith('ended after 840 s (before the no-progress watchdog)')


def _refuse(rt, stamp, reason=None):
    from demining_bringup.contract.datatypes import SafetyEvent
    from demining_bringup.contract.states import NO_GO_AHEAD, SafetyState
    rt.deliver('safety', SafetyEvent(stamp, SafetyState.PROTECTIVE_STOP.value,
                                     reason or NO_GO_AHEAD), stamp)


def _pinned_by_suspect(rt, pose, t0, t1, at=None):
    """Refused for a track on a suspect every 0.5 s from ``t0`` to ``t1``, each refusal
    cleared at once, the machine standing at ``pose``; ``at``: the suspect's position the
    refusal names (None: it names none)."""
    from demining_bringup.contract.datatypes import SafetyEvent
    from demining_bringup.contract.states import HAZARD_UNDER_TRACK, SafetyState, hazard_refusal
    for t in np.arange(t0, t1, 0.5):
        _refuse(rt, float(t), HAZARD_UNDER_TRACK if at is None else hazard_refusal(*at))
        rt.deliver('safety', SafetyEvent(float(t) + 0.1, SafetyState.OK.value, 'ok'),
                   float(t) + 0.1)
        rt.deliver('pose', pose, float(t) + 0.2)


def test_a_path_the_supervisor_keeps_refusing_is_replanned_round_the_zone(area_file):
    """No dead end: refused at keep-out ground for pin_replan_s, the planner backs out and
    re-plans with that zone wider; a refusal that clears at once is no pin."""
    from demining_bringup.contract.datatypes import SafetyEvent
    from demining_bringup.contract.states import SafetyState
    rt, out = _runtime(area_file)
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    pose = VehicleState(10.0, 6.0, 1.0, 0.0)
    at = Detection(x=10.6, y=1.0, depth=0.2, confidence=0.9, kind=DetectionKind.AT,
                   radius=0.16)
    rt.deliver('detections', Detections(10.0, [at]), 10.0)
    assert len(out) == 2
    # a refusal followed by free motion: no pin
    _refuse(rt, 20.0)
    rt.deliver('safety', SafetyEvent(20.2, SafetyState.OK.value, 'all inputs fresh'), 20.2)
    for t in np.arange(20.2, 40.0, 0.5):
        rt.deliver('pose', pose, float(t))
    assert len(out) == 2
    # refused and refused again (the supervisor lets each slower command go, then stops it)
    for t in np.arange(40.0, 47.0, 0.5):
        _refuse(rt, float(t))
        rt.deliver('safety', SafetyEvent(float(t) + 0.1, SafetyState.OK.value, 'ok'),
                   float(t) + 0.1)
        rt.deliver('pose', pose, float(t) + 0.2)
    assert len(out) == 3
    comp = rt.component
    assert comp.pins == 1 and comp.inflation == {('n', 0): pytest.approx(0.5)}
    path = np.asarray(out[-1][1])
    assert path[1][0] < path[0][0]          # backs out first (reverse leg, facing as now)
    wider = disc_polygon(10.6, 1.0, 1.16 + 0.5)
    for lane in comp.plan.lanes:
        strip = LineString([lane.tool_start, lane.tool_end]).buffer(1.0, cap_style='flat')
        assert strip.intersection(wider).area < 1e-3


def _suspect_runtime(area_file, **params):
    """A planner with its first pose, the pose it is pinned at and an unknown suspect near
    the path (a track on it is what the supervisor refuses)."""
    rt, out = _runtime(area_file, **params)
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    pose = VehicleState(10.0, 6.0, 1.0, 0.0)
    near = Detection(x=7.5, y=2.6, depth=0.12, confidence=0.3, kind=DetectionKind.UNKNOWN,
                     radius=0.05)
    return rt, out, pose, near


def test_a_suspect_a_track_would_press_is_replanned_round_then_marked_when_it_pins_again(
        area_file):
    """No dead end for the supervisor's refusal of a track on a suspect (an AP or unknown
    track on unprocessed ground): the first pin re-plans with the turns kept off the
    suspects; pinned at the same suspect again, the planner marks it and plans round it like
    a no-go zone (left for manual clearance), without widening it."""
    rt, out, pose, near = _suspect_runtime(area_file)
    far = Detection(x=20.0, y=9.0, depth=0.05, confidence=0.8, kind=DetectionKind.AP,
                    radius=0.05)
    clutter = Detection(x=6.0, y=2.5, depth=0.05, confidence=0.99,
                        kind=DetectionKind.CLUTTER, radius=0.05)
    rt.deliver('detections', Detections(10.0, [near, far, clutter]), 10.0)
    assert len(out) == 1                    # suspects are the tool's: no re-plan for them

    comp = rt.component
    _pinned_by_suspect(rt, pose, 40.0, 47.0)
    assert len(out) == 2 and not comp.marked and comp.pins == 1
    _pinned_by_suspect(rt, pose, 47.0, 54.0)          # refused again on the new path
    assert len(out) == 3
    assert len(comp.marked) == 1 and comp.marked[0].contains(Point(7.5, 2.6))
    assert comp.pins == 2 and not comp.inflation      # the suspect is not widened
    for lane in comp.plan.lanes:
        strip = LineString([lane.tool_start, lane.tool_end]).buffer(1.0, cap_style='flat')
        assert strip.intersection(comp.marked[0]).area < 1e-3
    assert any('marked, planned round' in text for _, text, _ in rt.log.lines)


def _status_runtime(area_file, **params):
    """A planner whose statuses go to a list, active, with its first pose."""
    statuses = []
    rt = ComponentRuntime(CoveragePlannerComponent,
                          sink=lambda p, v: statuses.append(v) if p == 'status' else None,
                          log=RecordingLog())
    rt.configure({'area_file': area_file, **params})
    rt.activate(0.0)
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    return rt, statuses


def test_a_machine_pinned_again_and_again_ends_with_a_refused_plan(area_file):
    from demining_bringup.contract.states import PlanState
    rt, statuses = _status_runtime(area_file, max_pin_replans=2, pin_replan_s=1.0)
    at = Detection(x=10.6, y=1.0, depth=0.2, confidence=0.9, kind=DetectionKind.AT,
                   radius=0.16)
    rt.deliver('detections', Detections(1.0, [at]), 1.0)
    pose = VehicleState(10.0, 6.0, 1.0, 0.0)
    t = 2.0
    _refuse(rt, t)
    # one protective stop that goes on (no new event) pins again after each re-plan
    while statuses[-1].state != PlanState.REFUSED.value and t < 60.0:
        rt.deliver('pose', pose, t + 0.5)
        t += 0.5
    assert statuses[-1].state == PlanState.REFUSED.value
    assert 'pinned at keep-out ground' in statuses[-1].reason
    assert rt.component.pins == 3


def test_the_pin_budget_is_per_zone_so_pins_at_several_zones_do_not_end_the_mission(
        area_file):
    """Each zone may pin the machine ``max_pin_replans`` times: a field with several AT
    mines pins it once at each and goes on (a per-mission budget ended gen_at_uxo_lanes
    seed 2 at its seventh pin); the same zone once more ends it."""
    from demining_bringup.contract.states import PlanState
    rt, statuses = _status_runtime(area_file, max_pin_replans=1, pin_replan_s=1.0)
    zones = [(10.6, 1.0), (20.6, 10.0), (5.0, 15.0)]
    rt.deliver('detections', Detections(1.0, [
        Detection(x=x, y=y, depth=0.2, confidence=0.9, kind=DetectionKind.AT, radius=0.16)
        for x, y in zones]), 1.0)
    t = 2.0

    def pin_at(x, y):
        nonlocal t
        # driven up to it from the west: the way back the re-plan backs out on (pinned
        # where no motion gets away, the re-planned path's own first motion would pin it
        # again, a second pin at that zone)
        _drive_east(rt, x - 8.0, x - 2.0, y, t, t + 6.0)
        t += 6.5
        pose = VehicleState(t, x - 2.0, y, 0.0)
        pins = rt.component.pins
        _refuse(rt, t)
        while rt.component.pins == pins and t < 600.0:
            rt.deliver('pose', pose, t + 0.5)
            t += 0.5
        rt.deliver('safety', SafetyEvent(t, SafetyState.OK.value, 'ok'), t)
        rt.component.refusal = ''
        rt.component.pinned_since = None
        t += 1.0

    from demining_bringup.contract.datatypes import SafetyEvent
    from demining_bringup.contract.states import SafetyState
    for x, y in zones:
        pin_at(x, y)
        assert statuses[-1].state != PlanState.REFUSED.value, statuses[-1].reason
    assert rt.component.pins == len(zones)
    assert sorted(rt.component.zone_pins.values()) == [1, 1, 1]
    pin_at(*zones[1])
    assert statuses[-1].state == PlanState.REFUSED.value
    assert 'pinned at keep-out ground' in statuses[-1].reason


def test_a_lasting_slope_stop_marks_the_ground_too_steep_backs_out_and_plans_round_it(
        area_file):
    """No dead end on a slope (gen_slope stood 900 s on a bump and was aborted): a slope stop
    lasting pin_replan_s marks the footprint's ground too steep; the new path reverses out of
    it first, no lane's tool strip crosses it, and it is reported unreached with the reason;
    a short stop marks nothing, and past max_steep_zones the plan is refused."""
    from demining_bringup.contract.datatypes import SafetyEvent
    from demining_bringup.contract.states import SLOPE_STOP, SafetyState
    rt, statuses = _status_runtime(area_file, pin_replan_s=2.0, max_steep_zones=1)
    comp = rt.component
    paths = len(comp.path)

    def slope_stop(pose, t0, t1):
        rt.deliver('safety', SafetyEvent(t0, SafetyState.PROTECTIVE_STOP.value,
                                         f'{SLOPE_STOP}, motion command stale'), t0)
        for t in np.arange(t0, t1, 0.5):
            rt.deliver('pose', pose, float(t))
        rt.deliver('safety', SafetyEvent(t1, SafetyState.OK.value, 'ok'), t1)

    on_bump = VehicleState(10.0, 15.0, 9.0, 0.0)
    _drive_east(rt, 2.0, 15.0, 9.0, 5.0, 10.0)          # the way it came: the way back
    slope_stop(on_bump, 10.0, 11.5)                     # cleared in time: nothing marked
    assert comp.steep == [] and len(comp.path) == paths
    slope_stop(on_bump, 20.0, 23.0)
    assert len(comp.steep) == 1 and comp.replans == 1
    steep = comp.steep[0]
    assert steep.contains(Point(15.0, 9.0))
    path = comp.path
    assert path[1][0] < path[0][0] and path[1][1] == pytest.approx(9.0)   # straight back
    assert steep.distance(Point(path[1][0], path[1][1])) > 3.0          # out of its reach
    for lane in comp.plan.lanes:
        strip = LineString([lane.tool_start, lane.tool_end]).buffer(1.0, cap_style='flat')
        assert strip.intersection(steep).area < 1e-3
    st = statuses[-1]
    assert st.state == PlanState.PLANNED.value
    steep_rings = [ring for why, ring in st.unreached if why.startswith('too steep')]
    assert len(steep_rings) == 1 and Polygon(steep_rings[0]).area > 10.0
    # ground processed before (a lane through the spot) is not reported
    rt.deliver('processed', Grid(24.0, np.full((200, 300), 100, dtype=np.int8),
                                 0.0, 0.0, 0.1), 24.0)
    assert comp._steep_unreached(comp._processed_now()) == []
    slope_stop(VehicleState(30.0, 5.0, 15.0, 0.0), 30.0, 33.0)          # one more than allowed
    assert statuses[-1].state == PlanState.REFUSED.value
    assert 'slope stopped the machine' in statuses[-1].reason


def test_a_slope_stop_in_a_pivot_backs_out_by_undoing_the_pivot_then_the_trail(area_file):
    """rugged_terrain seed 1: the machine pivoted on the spot into a slope stop; straight back
    was ground it never drove, and the pivot back, judged against the too steep zone it stood
    on (its margin), was refused: no way out was planned and it stood 900 s until the mission
    was aborted at 40 %. The way out now turns back where it pivoted (the supervisor passes
    that undo out of a slope stop) and reverses west down the driven trail."""
    from demining_bringup.contract.datatypes import SafetyEvent, ToolCommand, ToolState
    from demining_bringup.contract.states import SLOPE_STOP, SLOPE_UNDO_PIVOT, SafetyState
    from demining_control.safety.supervisor import (SafetyInputs, SafetyParams,
                                                    SafetySupervisor)
    rt, out = _runtime(area_file, replan_mode='full', pin_replan_s=2.0)
    comp = rt.component
    _drive_east(rt, 2.0, 12.0, 10.0, 1.0, 20.0)
    turned = 1.2
    for k, yaw in enumerate(np.linspace(0.0, turned, 20)):        # a pivot on the spot
        rt.deliver('pose', VehicleState(21.0 + k, 12.0, 10.0, float(yaw)), 21.0 + k)
    pose = VehicleState(41.0, 12.0, 10.0, turned)
    stop = SafetyEvent(41.0, SafetyState.PROTECTIVE_STOP.value, SLOPE_STOP)
    rt.deliver('safety', stop, 41.0)
    for t in np.arange(41.0, 44.0, 0.5):
        rt.deliver('pose', pose, float(t))
    assert len(comp.steep) == 1 and comp.steep[0].contains(Point(12.0, 10.0))
    path = np.asarray(out[-1][1])
    # the pivot undone on the spot (facing east again), then west on the trail, facing east
    assert np.allclose(path[0], (12.0, 10.0, 0.0), atol=0.06)
    west = np.flatnonzero(np.abs(path[:, 1] - 10.0) < 1e-9)
    end = int(west[np.argmax(np.diff(np.concatenate([west, [-2]])) != 1)])
    assert path[end][0] < 12.0 - 1.0 and np.all(np.diff(path[:end + 1, 0]) <= 0.0)
    assert np.allclose(path[:end, 2], 0.0, atol=0.06)
    # the follower turns back towards east on the spot: the supervisor passes that turn out
    # of the slope stop (at the creep yaw rate), the one it would refuse otherwise
    follower = PathFollower()
    follower.set_path(path)
    cmd = follower.update(pose, 0.1)
    assert cmd.v == pytest.approx(0.0, abs=1e-6) and cmd.omega < 0.0
    sup = SafetySupervisor([(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)],
                           SafetyParams(imu_required=True))
    yaws = [0.0] * 5 + list(np.linspace(0.0, turned, 20)) + [turned, turned]
    for k, yaw in enumerate(yaws):
        roll = 0.3 if k >= 24 else 0.0                  # the bump, at the end of the pivot
        t = 0.1 * (k + 1)
        inp = SafetyInputs(cmd=cmd if k == len(yaws) - 1 else Twist2D(0.0, 0.3), cmd_stamp=t,
                           tool_cmd=ToolCommand(), tool_cmd_stamp=t, heartbeat_stamp=t,
                           pose=VehicleState(t, 12.0, 10.0, float(yaw)), pose_stamp=t,
                           tool_state=ToolState(t), tool_state_stamp=t, roll=roll,
                           imu_stamp=t)
        state, passed, _ = sup.update(inp, t)
        if k == len(yaws) - 2:
            assert state is SafetyState.PROTECTIVE_STOP and SLOPE_STOP in sup.reason
    assert state is SafetyState.OK and sup.reason == SLOPE_UNDO_PIVOT and passed.omega < 0.0


def test_a_pin_widens_the_zone_ahead_on_the_path_not_a_nearer_one_beside(area_file):
    """mixed_field seed 1: stopped by a zone ahead, the planner widened the zone nearest the
    footprint (beside and behind the machine) at each pin; the widened zone then blocked the
    way back and the plan was refused after six pins. The zone the path's next motion would
    sweep the footprint into is the one that pins the machine; the way back is judged against
    the zones as the supervisor keeps them, not as widened."""
    rt, _ = _status_runtime(area_file, pin_replan_s=1.0)
    ahead, beside = (17.5, 10.0), (10.0, 13.0)
    rt.deliver('detections', Detections(1.0, [
        Detection(x=x, y=y, depth=0.2, confidence=0.9, kind=DetectionKind.AT, radius=0.16)
        for x, y in (beside, ahead)]), 1.0)
    comp = rt.component
    pose = VehicleState(2.0, 12.0, 10.0, 0.0)
    here = Polygon([(9.0, 8.9), (15.3, 8.9), (15.3, 11.1), (9.0, 11.1)])
    zones = comp.no_go.polygons()
    assert zones[0].distance(here) < zones[1].distance(here)      # beside is the nearer
    comp.path, comp.progress = np.array([[11.0, 10.0, 0.0], [25.0, 10.0, 0.0]]), 0
    assert comp._offending_zone(pose)[0] == ('n', 1)
    # a path that turns away north-west first sweeps the zone beside: that one
    comp.path = np.array([[12.0, 10.0, 0.0], [12.0, 10.0, 2.4], [5.0, 16.0, 2.4]])
    assert comp._offending_zone(pose)[0] == ('n', 0)
    # pinned there: the zone ahead is widened, and the path backs out west past the zone
    # beside (widened, it would have stopped the back-out at once)
    comp.path = np.array([[11.0, 10.0, 0.0], [25.0, 10.0, 0.0]])
    comp.inflation[('n', 0)] = 2.0
    _drive_east(rt, 2.0, 12.0, 10.0, 1.5, 1.9)         # the way it came: the way back
    t = 2.0
    _refuse(rt, t)
    while comp.pins == 0 and t < 20.0:
        t += 0.5
        rt.deliver('pose', VehicleState(t, 12.0, 10.0, 0.0), t)
    assert comp.zone_pins == {('n', 1): 1}
    path = comp.path
    assert path[1][0] < 12.0 - 1.0 and path[1][1] == pytest.approx(10.0)


def test_a_back_out_only_retraces_ground_the_machine_drove(area_file):
    """gen_random seed 12: the machine pivoted, the boom found an AT mine ahead, and the new
    path reversed 9 m straight behind, onto ground it had never driven: a TM-62M lay there.
    The way back now sweeps only processed, declared safe or driven ground."""
    from demining_control.coverage.no_go import footprint
    from shapely.ops import unary_union
    rt, out = _runtime(area_file, replan_mode='full')
    comp = rt.component
    c = comp.config
    hull = (c.footprint_rear_m, c.footprint_front_m, c.footprint_half_width_m)
    _drive_east(rt, 2.0, 12.0, 10.0, 1.0, 20.0)
    turn = np.linspace(0.0, np.pi / 2, 20)
    for k, yaw in enumerate(turn):                         # a pivot to face north
        rt.deliver('pose', VehicleState(21.0 + k, 12.0, 10.0, float(yaw)), 21.0 + k)
    driven = unary_union([footprint(x, 10.0, 0.0, *hull) for x in np.arange(2.0, 12.01, 0.1)]
                         + [footprint(12.0, 10.0, a, *hull) for a in turn])
    # an AT mine found ahead on the left (north-west): too near to pivot away from
    at = Detection(x=9.5, y=13.5, depth=0.2, confidence=0.9, kind=DetectionKind.AT,
                   radius=0.16)
    rt.deliver('detections', Detections(41.0, [at]), 41.0)
    path = np.asarray(out[-1][1])
    assert np.allclose(path[0][:2], (12.0, 10.0))
    # the way it came: the pivot undone (facing east again), then reversing west on the
    # trail, facing east, to where a pivot clears the zone; nothing swept off the trail
    assert path[0][2] == pytest.approx(0.0, abs=0.06)
    west = np.flatnonzero(np.abs(path[:, 1] - 10.0) < 1e-9)
    end = int(west[np.argmax(np.diff(np.concatenate([west, [-2]])) != 1)])
    assert path[end][0] < 12.0 - 1.0
    assert np.allclose(path[:end, 2], 0.0, atol=0.06)
    zone = disc_polygon(9.5, 13.5, 1.16)
    reach = np.hypot(c.footprint_front_m, c.footprint_half_width_m)
    assert zone.distance(Point(path[end][0], 10.0)) >= reach
    swept = unary_union([footprint(x, 10.0, 0.0, *hull)
                         for x in np.arange(path[end][0], 12.0, 0.1)])
    assert swept.difference(driven).area < 1e-6
    # no waypoint before it is anywhere else: no straight reverse south, off the trail
    assert np.all(path[:end + 1, 1] == 10.0)


def _turned_to_face_a_mine(area_file, **params):
    """Driven east to (12, 10), pivoted to face north, where the boom finds an AT mine: no
    way back over driven ground clears it (the pivot back would sweep the zone)."""
    rt, out = _runtime(area_file, replan_mode='full', **params)
    _drive_east(rt, 2.0, 12.0, 10.0, 1.0, 20.0)
    for k, yaw in enumerate(np.linspace(0.0, np.pi / 2, 20)):
        rt.deliver('pose', VehicleState(21.0 + k, 12.0, 10.0, float(yaw)), 21.0 + k)
    at = Detection(x=12.0, y=14.0, depth=0.2, confidence=0.9, kind=DetectionKind.AT,
                   radius=0.16)
    rt.deliver('detections', Detections(41.0, [at]), 41.0)
    return rt, np.asarray(out[-1][1])


def test_a_blind_back_out_is_bounded_by_a_parameter(area_file):
    """Where the way the machine came does not lead out of a zone's reach, the back-out may
    run ``back_out_blind_max_m`` onto ground nothing processed, and says so; 0 forbids it."""
    rt, path = _turned_to_face_a_mine(area_file)
    c = rt.component.config
    reach = np.hypot(c.footprint_front_m, c.footprint_half_width_m)
    zone = disc_polygon(12.0, 14.0, 1.16)
    assert np.allclose(path[0], (12.0, 10.0, np.pi / 2))
    assert path[1][0] == pytest.approx(12.0) and 10.0 - path[1][1] <= 0.5 + 2.0 + 1e-9
    assert zone.distance(Point(path[1][0], path[1][1])) >= reach
    assert any('blind' in text for _, text, _ in rt.component.log.lines)
    rt, path = _turned_to_face_a_mine(area_file, back_out_blind_max_m=0.0)
    assert not any('blind' in text for _, text, _ in rt.component.log.lines)
    # only what the pivot's sweep covers behind it (the trail's ground) is backed over: the
    # path's straight start on the line it came up (none, when it turns away where it is)
    off = np.flatnonzero(np.abs(path[:, 0] - 12.0) > 1e-9)
    assert len(off) and np.all(path[:off[0], 1] >= 10.0 - 0.5 - 1e-9)


def test_between_two_zones_the_machine_turns_away_and_drives_off(
        area_file, supervisor_refusals):
    """gen_random seed 11: backed out of a zone found on its lane and pivoted to face the next
    lane, the machine had the boom find a second AT mine ahead. The pivot back swept that
    zone, straight back ran onto unprocessed ground with the first zone still within the pivot
    reach: no back-out was planned, each path began with a pivot the supervisor refused, and
    the mission aborted pinned at 8 %. Now the path first takes a way out every motion of
    which the supervisor lets pass, over little ground nothing processed or drove."""
    from demining_control.coverage.no_go import footprint
    from shapely.ops import unary_union
    rt, out = _runtime(area_file, replan_mode='full')
    comp = rt.component
    c = comp.config
    hull = (c.footprint_rear_m, c.footprint_front_m, c.footprint_half_width_m)
    x0, y0 = 12.0, 10.0
    _drive_east(rt, 2.0, x0 + 1.3, y0, 1.0, 20.0)
    t = 20.0
    trail = [(x, y0, 0.0) for x in np.arange(2.0, x0 + 1.31, 0.1)]
    first = (x0 + 5.17, y0 - 0.12, 1.22)
    rt.deliver('detections', Detections(t, [Detection(
        x=first[0], y=first[1], depth=0.2, confidence=0.9, kind=DetectionKind.AT,
        radius=first[2] - c.no_go_margin_m)]), t)
    poses = [(x0 + 1.3, y0, a) for a in np.linspace(0.0, -0.3, 4)]
    poses += [(x0 + 1.3 - d * np.cos(-0.3), y0 - d * np.sin(-0.3), -0.3)
              for d in np.arange(0.1, 1.31, 0.1)]
    px, py = poses[-1][:2]
    poses += [(px, py, a) for a in np.arange(-0.3, -2.26, -0.1)]
    for pose in poses:
        t += 0.5
        rt.deliver('pose', VehicleState(t, *pose), t)
    trail += poses
    yaw = poses[-1][2]
    second = (px - 1.76, py - 3.6, 1.16)
    rt.deliver('detections', Detections(t, [Detection(
        x=second[0], y=second[1], depth=0.2, confidence=0.9, kind=DetectionKind.AT,
        radius=second[2] - c.no_go_margin_m)]), t)
    path = np.asarray(out[-1][1])
    assert np.allclose(path[0][:2], (px, py))
    zones = unary_union([disc_polygon(*first), disc_polygon(*second)])
    reach = np.hypot(c.footprint_front_m, c.footprint_half_width_m)
    clear = next(k for k, p in enumerate(path) if zones.distance(Point(p[0], p[1])) >= reach)
    assert 0 < clear <= 3
    assert supervisor_refusals([tuple(p) for p in path[:clear + 1]], yaw,
                               [first, second]) == []
    # off the driven ground by no more than back_out_blind_max_m of the footprint's width
    driven = unary_union([footprint(*p, *hull) for p in trail]).buffer(0.25)
    parts, facing = [], yaw
    for a, b in zip(path[:clear], path[1:clear + 1]):
        turn = np.arctan2(np.sin(a[2] - facing), np.cos(a[2] - facing))
        parts += [footprint(a[0], a[1], facing + f * turn, *hull)
                  for f in np.linspace(0.0, 1.0, 30)]
        parts += [footprint(*(a[:2] + f * (b[:2] - a[:2])), a[2], *hull)
                  for f in np.linspace(0.0, 1.0, 40)]
        facing = a[2]
    swept = unary_union(parts)
    assert swept.difference(driven).area <= c.back_out_blind_max_m * 2 * hull[2] + 0.5


def test_every_plan_request_is_kept_to_be_planned_again(area_file, tmp_path):
    """With plan_requests_dir set, each request is written as it is planned, and planned
    again offline it gives the same path (a re-plan round a new zone included)."""
    from demining_control.coverage.requests import read_request
    rt, out = _runtime(area_file, replan_mode='full', plan_requests_dir=str(tmp_path))
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    rt.deliver('pose', VehicleState(50.0, 6.0, 1.0, 0.0), 50.0)
    at = Detection(x=10.0, y=1.0, depth=0.2, confidence=0.9, kind=DetectionKind.AT,
                   radius=0.16)
    rt.deliver('detections', Detections(50.0, [at]), 50.0)
    files = sorted((tmp_path / 'plan_requests').iterdir())
    assert [f.name for f in files] == ['plan_001.json', 'plan_002.json']
    again = read_request(str(files[-1]))
    assert again.stamp == 50.0 and len(again.no_go_zones) == 1
    assert np.allclose(again.plan().waypoints, rt.component.plan.waypoints)


def test_a_plan_request_that_cannot_be_kept_is_a_warning_not_a_lost_plan(area_file, tmp_path):
    blocked = tmp_path / 'file'
    blocked.write_text('not a folder')
    rt, out = _runtime(area_file, plan_requests_dir=str(blocked))
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    assert len(out) == 1
    assert any('plan request not kept' in text for _, text, _ in rt.component.log.lines)


def test_a_re_plan_knows_the_ground_the_boom_scanned_and_the_machine_drove(
        area_file, tmp_path):
    """A re-plan's first pivot is judged against what the boom has scanned (its line along
    every pose since the first processed grid) and may be moved along the driven trail:
    both go into the plan request, so a replay plans the same path."""
    from demining_control.coverage.requests import read_request
    rt, out = _runtime(area_file, replan_mode='full', plan_requests_dir=str(tmp_path))
    c = rt.component.config
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    rt.deliver('processed', Grid(0.5, np.zeros((200, 300), dtype=np.int8), 0.0, 0.0, 0.1),
               0.5)
    _drive_east(rt, -5.0, 6.0, 1.0, 1.0, 50.0)
    at = Detection(x=12.0, y=1.0, depth=0.2, confidence=0.9, kind=DetectionKind.AT,
                   radius=0.16)
    rt.deliver('detections', Detections(50.0, [at]), 50.0)
    again = read_request(str(sorted((tmp_path / 'plan_requests').iterdir())[-1]))
    # the boom's swath from where it entered the field to 4 m ahead of the last pose, taken
    # lead_in_scan_margin_m inside its edges
    half = 0.5 * c.sensor_width_m - c.lead_in_scan_margin_m
    swath = box(0.0, max(1.0 - half, 0.0), 6.0 + c.sensor_offset_x_m, 1.0 + half)
    assert swath.difference(again.scanned).area < 0.05 * swath.area
    assert again.scanned.difference(swath.buffer(0.2)).area < 1e-6
    # the trail: the footprint at the poses driven, outside the field too
    assert again.driven.contains(Point(-5.0, 1.0)) and again.driven.contains(Point(6.0, 1.0))
    assert not again.driven.contains(Point(6.0, 5.0))
    assert np.allclose(again.plan().waypoints, rt.component.plan.waypoints)


def test_a_geometry_error_in_the_planner_refuses_the_plan_with_its_reason(area_file,
                                                                          monkeypatch):
    # GEOS can fail an overlay on nearly coincident edges; the node must not crash (in one
    # process that takes every node down) but refuse with the reason, as for any bad plan
    import demining_control.coverage_planner_node as node
    from shapely.errors import GEOSException

    def fails(*args, **kwargs):
        raise GEOSException('TopologyException: side location conflict at 1 2')

    monkeypatch.setattr(node, 'plan_coverage', fails)
    statuses = []
    rt = ComponentRuntime(CoveragePlannerComponent,
                          sink=lambda p, v: statuses.append(v) if p == 'status' else None,
                          log=RecordingLog())
    rt.configure({'area_file': area_file})
    rt.activate(0.0)
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    assert statuses[-1].state == PlanState.REFUSED.value
    assert 'geometry error in the planner' in statuses[-1].reason
    assert 'side location conflict' in statuses[-1].reason


def test_a_refusal_is_answered_at_the_suspect_it_names_never_by_widening_another_zone(
        area_file):
    """The supervisor judges a motion over its horizon: the suspect it refuses may lie beyond
    the footprint's pivot reach. The planner found none there and widened the no-go zone
    nearest the machine instead, six times, and the mission was aborted (gen_random seed 51
    with suspect_track_enforce: a suspect at (15.9, 0.3) refused every motion, the UXO zone
    at (4.9, 7.2) grew 3 m). Now the named suspect is re-planned for, then marked; a refusal
    at a marked suspect is a pin at that mark."""
    rt, out, pose, near = _suspect_runtime(area_file)
    ahead = Detection(x=17.0, y=6.4, depth=0.05, confidence=0.5, kind=DetectionKind.AP,
                      radius=0.05)
    at = Detection(x=11.0, y=11.5, depth=0.2, confidence=0.9, kind=DetectionKind.AT,
                   radius=0.16)
    rt.deliver('detections', Detections(10.0, [near, ahead, at]), 10.0)
    comp = rt.component
    n = len(out)
    _pinned_by_suspect(rt, pose, 40.0, 47.0, at=(17.0, 6.4))
    assert len(out) == n + 1 and not comp.marked and not comp.inflation
    assert any('suspect at (17.0, 6.4)' in text for _, text, _ in rt.log.lines)
    _pinned_by_suspect(rt, pose, 47.0, 54.0, at=(17.0, 6.4))
    assert len(out) == n + 2 and not comp.inflation
    assert len(comp.marked) == 1 and comp.marked[0].contains(Point(17.0, 6.4))
    # the marked suspect is planned round as keep-out ground, no longer as a suspect
    assert [d[:2] for d in comp._unmarked()] == [(d[0], d[1]) for d in comp.hazards
                                                 if math.dist(d[:2], (17.0, 6.4)) > 0.5]
    assert len(comp._unmarked()) == len(comp.hazards) - 1
    # still refused there: a pin at the mark, counted and bounded like any zone's
    _pinned_by_suspect(rt, pose, 54.0, 61.0, at=(17.0, 6.4))
    assert len(out) == n + 3 and comp.zone_pins == {('h', 0): 1}
    assert set(comp.inflation) == {('h', 0)}
    assert any('marked suspect at (17.0, 6.4)' in text for _, text, _ in rt.log.lines)


def test_a_suspects_stop_that_goes_on_is_still_that_suspects_at_the_next_pin(area_file):
    """A stop that goes on sends no new event. After the first pin's re-plan the planner
    forgot that the stop was a suspect's, and each later pin widened the exclusion zone
    nearest the machine until the plan was refused (gen_notch_clay_exclusion seed 10 with
    suspect_track_enforce, aborted at 20 %)."""
    from demining_bringup.contract.states import hazard_refusal
    rt, out, pose, near = _suspect_runtime(area_file)
    rt.deliver('detections', Detections(10.0, [near]), 10.0)
    comp = rt.component
    n = len(out)
    _refuse(rt, 40.0, hazard_refusal(7.5, 2.6))           # one event, then the stop holds
    for t in np.arange(40.0, 51.5, 0.5):
        rt.deliver('pose', pose, float(t))
    assert len(out) == n + 2 and not comp.inflation and not comp.zone_pins
    assert len(comp.marked) == 1 and comp.marked[0].contains(Point(7.5, 2.6))


def test_past_max_marked_suspects_the_plan_is_refused_and_no_path_follows(area_file):
    rt, out, pose, near = _suspect_runtime(area_file, max_marked_suspects=0)
    at = Detection(x=22.0, y=15.0, depth=0.2, confidence=0.9, kind=DetectionKind.AT,
                   radius=0.16)
    rt.deliver('detections', Detections(10.0, [near, at]), 10.0)
    assert len(out) == 2            # the first plan and the re-plan round the AT zone
    _pinned_by_suspect(rt, pose, 40.0, 54.0)
    comp = rt.component
    assert comp.status.state == PlanState.REFUSED.value
    assert 'marked already' in comp.status.reason and not comp.marked
    assert len(out) == 3            # the first pin's re-plan; none after the refusal


#: gen_at_uxo_lanes seed 1's last minute (x, y, yaw), thinned: the machine came in heading
#: south-west, pivoted to face south-east, reversed north-west, drove on until the boom found
#: an AT mine ahead, and backed out the way it came onto the last pose.
_PINNED_TRAIL = [
    (6.65, 13.49, 3.04), (6.89, 13.44, 3.05), (6.87, 13.48, -2.96), (6.88, 13.47, -2.78),
    (6.88, 13.45, -2.65), (6.85, 13.45, -2.54), (6.73, 13.35, -2.42), (6.33, 12.96, -2.39),
    (5.96, 12.62, -2.4), (5.77, 12.45, -2.4), (5.57, 12.27, -2.39), (5.57, 12.29, -2.06),
    (5.62, 12.3, -1.74), (5.56, 12.3, -1.42), (5.6, 12.28, -1.21), (5.58, 12.26, -1.06),
    (5.58, 12.28, -0.97), (5.58, 12.26, -0.85), (5.34, 12.57, -0.78), (5.13, 12.76, -0.76),
    (4.91, 12.93, -0.73), (4.73, 13.08, -0.73), (4.5, 13.29, -0.73), (4.37, 13.45, -0.74),
    (4.56, 13.28, -0.74), (4.75, 13.09, -0.75), (4.91, 12.9, -0.75), (5.12, 12.73, -0.77),
    (5.28, 12.56, -0.77), (4.97, 12.88, -0.76), (4.75, 13.13, -0.75), (4.59, 13.26, -0.75)]
#: Its no-go zones there (x, y, zone radius): the one the boom found 0.26 m ahead of the
#: flail's corner, one 3.1 m north (inside the hull's pivot reach, 3.2 m at its rear
#: corners), and the others round it.
_PINNED_ZONES = [(8.73, 10.81, 1.16), (5.48, 17.37, 1.16), (-0.49, 11.54, 1.16),
                 (6.99, 6.59, 1.01), (12.26, 14.61, 1.16)]


def test_a_path_whose_first_motion_the_supervisor_refuses_is_never_handed_over(
        area_file, supervisor_refusals):
    """gen_at_uxo_lanes seed 1: between an AT mine found just ahead of the flail and one in
    the hull's pivot reach, every path began with a pivot that swung the hull's rear corner
    into the zone behind; the supervisor refused it, each pin widened that zone and planned
    the same kind of pivot again, and the mission aborted after six futile re-plans (45 s).
    The planner now judges its path's first motions by the supervisor's own rule: it hands
    over one the supervisor lets pass, or refuses the plan at once with the reason."""
    from demining_bringup.contract.datatypes import PlanStatus
    from demining_control.coverage.no_go import footprint
    out = []
    rt = ComponentRuntime(CoveragePlannerComponent, sink=lambda p, v: out.append((p, v)),
                          log=RecordingLog())
    rt.configure({'area_file': area_file, 'replan_mode': 'full', 'max_pin_replans': 1})
    rt.activate(0.0)
    for k, pose in enumerate(_PINNED_TRAIL):
        rt.deliver('pose', VehicleState(float(k), *pose), float(k))
    t = float(len(_PINNED_TRAIL))
    margin = rt.component.config.no_go_margin_m
    rt.deliver('detections', Detections(t, [
        Detection(x=x, y=y, depth=0.2, confidence=0.9, kind=DetectionKind.AT,
                  radius=r - margin) for x, y, r in _PINNED_ZONES]), t)
    status = [v for p, v in out if p == 'status'][-1]
    assert isinstance(status, PlanStatus)
    if status.state == PlanState.REFUSED.value:
        # no supervisor refusal was waited for: refused with the reason, no new path
        assert 'pinned at keep-out ground' in status.reason
        assert 'sweep the footprint into it' in status.reason
        assert sum(1 for p, _ in out if p == 'path') == 1
        return
    path = np.asarray([v for p, v in out if p == 'path'][-1])
    c = rt.component.config
    hull = (c.footprint_rear_m, c.footprint_front_m, c.footprint_half_width_m)
    x, y, yaw = _PINNED_TRAIL[-1]
    assert footprint(x, y, yaw, *hull).distance(disc_polygon(*_PINNED_ZONES[0])) < 0.3
    # the motions the machine makes where it stands: up to the footprint's pivot reach
    reach = np.hypot(max(hull[:2]), hull[2])
    far = np.cumsum(np.hypot(*np.diff(path[:, :2], axis=0).T))
    upto = int(np.searchsorted(far, reach)) + 2
    assert supervisor_refusals([tuple(p) for p in path[:upto]], yaw, _PINNED_ZONES) == []


def test_a_re_plan_that_leaves_the_geofence_says_where_and_that_the_rest_is_cut_off(
        area_file):
    # irregular_area seed 1: a false zone 5.3 m from the machine closed a corner between two
    # others and the fence; the re-plan round it left the fence for 4.9 m, was refused, and the
    # mission ended telling the operator to "move the start"
    from types import SimpleNamespace
    rt, _ = _status_runtime(area_file, geofence_margin_m=2.0)
    planner = rt.component
    way = SimpleNamespace(waypoints=np.array([[10.0, 10.0], [31.0, 10.0], [35.0, 10.0],
                                              [35.0, 25.0]]))
    first = planner._outside_fence(way, 8.0, None)
    assert first.startswith('the plan leaves the geofence (field and declared safe ground '
                            '+ 2 m) for 8.0 m') and 'move the start' in first
    re_plan = planner._outside_fence(way, 8.0, box(0.0, 0.0, 10.0, 20.0))
    assert 'move the start' not in re_plan
    # the fence is the field grown by 2 m: the path crosses out of it at x = 32 m
    assert re_plan.startswith('the re-plan leaves the geofence (field and declared safe ground '
                              '+ 2 m) for 8.0 m, first at (32.0, 10.0)')
    assert 'cut off' in re_plan and 'manual clearance' in re_plan


def _drive_along(rt, shift_y, steps, out):
    """Poses at the current path's waypoints one after another, ``shift_y`` off them (the
    follower's cross-track error), every 0.1 s, from the next path's second waypoint when
    one comes (its first is where the machine is); the paths emitted meanwhile."""
    n0, path, j = len(out), rt.component.path, 0
    for i in range(steps):
        c = rt.component
        if c.path is not path:
            path, j = c.path, 1
        x, y, yaw = path[min(j, len(path) - 1)]
        j += 1
        t = 1.0 + 0.1 * i
        rt.deliver('pose', VehicleState(t, float(x), float(y) + shift_y, float(yaw)), t)
    return out[n0:]


@pytest.mark.parametrize('shift_y', [0.0, -0.3])
def test_a_lowering_is_judged_again_against_the_ground_the_boom_scanned_where_driven(
        area_file, shift_y):
    """Driven on its plan, the path's lowerings need nothing more. Driven 0.3 m off it, the
    boom misses a strip of the band the plan counted seen at the headland's first corner:
    coming to it, the machine backs up first (gen_random seed 8: the flail lowered there
    set off a TM-62P the boom never saw)."""
    rt, out = _runtime(area_file, sensor_width_m=3.2)
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    rt.deliver('processed', Grid(0.5, np.zeros((260, 400), dtype=np.int8), -5.0, -3.0, 0.1),
               0.5)
    old, old_work = rt.component.path, rt.component.work.copy()
    new = _drive_along(rt, shift_y, 200, out)
    c = rt.component
    assert not c.error
    if not shift_y:
        # past the headland's first corner, and on
        assert c.progress > 150 and not new and c.path is old and c.late_lead_ins == 0
        return
    (_, path), = new
    assert c.late_lead_ins == 1 and c.path is path
    assert c.status.reason.startswith('lead-in added: backing up')
    # the remaining path from where the machine was: to the lowering point, straight back
    # along its heading (a reverse leg, tool raised), the lowering again, then the old path
    k = next(i for i in range(len(old)) if np.allclose(old[i], path[1]))
    yaw = old[k, 2]
    back = path[2, :2] - path[1, :2]
    assert np.allclose(path[3], old[k]) and np.allclose(path[4:], old[k + 1:])
    assert np.dot(back, (np.cos(yaw), np.sin(yaw))) < -0.1 and path[2, 2] == yaw
    work = np.zeros(len(path), dtype=bool)
    for a, b in c.status.work:
        work[a:b] = True
    assert c.status.waypoints == len(path) and np.array_equal(work, c.work)
    assert not work[1] and work[2] and np.array_equal(work[3:], old_work[k:])
    assert c.diagnostics(20.0)[2]['late_lead_ins'] == 1


def _pressed_point(rt, path):
    """A point of the field that a track of ``path`` presses before the tool processes it
    (the allowed-ground check's word), scanning a 0.5 m lattice."""
    from demining_control.coverage.allowed import check_path, contact_for
    c = rt.component
    lattice = [(float(x), float(y), 0.3) for x in np.arange(0.5, 30.0, 0.5)
               for y in np.arange(0.5, 20.0, 0.5)]
    check = check_path(path, c.work, c.area.field, [], None, contact_for(c.config, 0.1),
                       suspects=lattice)
    assert check.suspects_pressed          # the square's plan turns on unprocessed ground
    return check.suspects_pressed[0]


def test_a_new_suspect_a_track_of_the_path_ahead_would_press_is_planned_round(area_file):
    """gen_at_uxo_lanes seed 14: a TM-62P seen only at the boom's edge stayed an unknown
    track, and 135 s later a pivot of the path in force (a repair's, which routes round no-go
    zones only) swung a track onto it. A new suspect that a track of the path ahead would
    press before the tool processes it re-plans the remaining ground, whose turns keep off
    it; the same suspect again changes nothing, and ``suspect_lookahead_m`` 0 turns the
    check off."""
    from demining_control.coverage.allowed import check_path, contact_for
    rt, out = _runtime(area_file, suspect_lookahead_m=1000.0)
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    x, y = _pressed_point(rt, np.asarray(out[-1][1]))
    suspect = Detection(x=x, y=y, depth=0.12, confidence=0.6, kind=DetectionKind.UNKNOWN,
                        radius=0.05)
    rt.deliver('detections', Detections(1.0, [suspect]), 1.0)
    c = rt.component
    assert len(out) == 2 and c.suspect_replans == 1
    assert any('would press the detected suspect' in text for _, text, _ in rt.log.lines)
    check = check_path(np.asarray(out[-1][1]), c.work, c.area.field, [], None,
                       contact_for(c.config, 0.1), suspects=c.hazards)
    assert not check.suspects_pressed
    rt.deliver('detections', Detections(2.0, [suspect]), 2.0)
    assert len(out) == 2 and c.suspect_replans == 1

    rt, out = _runtime(area_file, suspect_lookahead_m=0.0)
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    rt.deliver('detections', Detections(1.0, [suspect]), 1.0)
    assert len(out) == 1 and rt.component.suspect_replans == 0


def test_a_re_plan_for_a_suspect_ahead_that_would_start_blind_keeps_the_path_in_force(
        area_file):
    """mixed_field seed 2: mid-lane, a suspect beside the lane ahead re-planned the remaining
    ground; the re-plan began with a pivot where the machine stood, a track swept the
    neighbouring strip no sensor had looked at, and an undetected TM-62M 2.2 m off went off
    under it. Such a re-plan is optional: one whose first pivot or tool lowering reaches
    ground nothing has looked at is not taken, and the path in force (over ground the boom
    has seen up to its turn) goes on; made all the same, it would start blind."""
    from demining_control.coverage.allowed import check_path, contact_for
    rt, out = _runtime(area_file, suspect_lookahead_m=1000.0)
    c = rt.component
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    res = 0.1
    values = np.zeros((260, 400), dtype=np.int8)
    rt.deliver('processed', Grid(0.5, values, -5.0, -3.0, res), 0.5)
    # the machine has worked a lane along y = 10 into the middle of the field (its boom has
    # seen that strip only); the path in force goes on east, then turns north
    _drive_east(rt, -5.0, 15.0, 10.0, 1.0, 100.0)
    values[int(11.5 / res):int(14.5 / res), int(5.0 / res):int(20.0 / res)] = 100
    rt.deliver('processed', Grid(100.5, values, -5.0, -3.0, res), 100.5)
    c.path = np.array([[15.0, 10.0, 0.0], [25.0, 10.0, np.pi / 2], [25.0, 16.0, np.pi / 2]])
    c.work, c.progress = np.ones(3, dtype=bool), 0
    n = len(out)
    lattice = [(float(x), float(y), 0.3) for x in np.arange(20.0, 29.0, 0.5)
               for y in np.arange(5.0, 15.0, 0.5)]
    check = check_path(c.path, c.work, c.area.field, [], None, contact_for(c.config, 0.1),
                       suspects=lattice)
    x, y = check.suspects_pressed[0]
    rt.deliver('detections', Detections(101.0, [Detection(
        x=x, y=y, depth=0.12, confidence=0.6, kind=DetectionKind.UNKNOWN, radius=0.05)]),
        101.0)
    assert any('would press the detected suspect' in m for m in rt.log.at('warning'))
    assert len(out) == n and c.suspect_replans == 0 and c.path[0, 0] == 15.0
    assert any(m.startswith('no re-plan: its first pivot or tool lowering, where the machine '
                            'stands, reaches') for m in rt.log.at('warning'))
    # the same plan, not optional, is taken: it starts blind
    pose = VehicleState(102.0, 15.0, 10.0, 0.0)
    assert c._plan(pose, c._processed_now(), 102.0)
    lead = c.plan.lead_ins
    first = np.asarray(c.plan.waypoints)[0]
    assert lead.start_pivot is not None or any(
        math.dist(p, first) < 2.5 for p, _ in lead.blind)
    assert not c.repaired
    # a repair's path in force is not kept so: it was not judged as a whole (gen_at_uxo_lanes
    # seed 67: kept, its transit over unprocessed ground lowered the flail onto a TM-62M)
    path = np.array([[15.0, 10.0, 0.0], [25.0, 10.0, np.pi / 2], [25.0, 16.0, np.pi / 2]])
    c.path, c.work, c.progress, c.repaired = path, np.ones(3, dtype=bool), 0, True
    c.suspects_checked.clear()
    n = len(out)
    rt.deliver('detections', Detections(140.0, [Detection(
        x=x, y=y, depth=0.12, confidence=0.6, kind=DetectionKind.UNKNOWN, radius=0.05)]),
        140.0)
    assert len(out) == n + 1 and c.suspect_replans == 1 and not c.repaired


@pytest.mark.parametrize('idle_max', [2, 0])
def test_suspect_replans_without_new_processed_ground_are_bounded(area_file, idle_max):
    """gen_random seed 64: every field lane planned, the path worked only its turning ground
    outside the field, where the boom kept finding suspects; each re-planned the remaining
    ground 30-100 s after the last, 30 times over 1,800 s with no ground of the field
    processed, until the no-progress watchdog aborted the mission. At most
    ``suspect_replans_idle_max`` re-plans follow one another without new processed ground;
    then new suspects wait for the tool to process ``suspect_replan_progress_m2``; 0: no
    limit."""
    rt, out = _runtime(area_file, suspect_lookahead_m=1000.0, suspect_replan_min_s=30.0,
                       suspect_replans_idle_max=idle_max, suspect_replan_progress_m2=1.0)
    c = rt.component
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    res, shape = 0.1, (200, 300)
    rt.deliver('processed', Grid(0.5, np.zeros(shape, dtype=np.int8), 0.0, 0.0, res), 0.5)
    seen = []

    def new_suspect(t):
        # a point a track of the path in force presses, not one of the suspects so far
        from demining_control.coverage.allowed import check_path, contact_for
        lattice = [(float(x), float(y), 0.3) for x in np.arange(0.5, 30.0, 0.5)
                   for y in np.arange(0.5, 20.0, 0.5)
                   if all(math.hypot(x - d.x, y - d.y) > 1.0 for d in seen)]
        check = check_path(np.asarray(out[-1][1]), c.work, c.area.field, [], None,
                           contact_for(c.config, 0.1), suspects=lattice)
        x, y = check.suspects_pressed[0]
        seen.append(Detection(x=x, y=y, depth=0.12, confidence=0.6,
                              kind=DetectionKind.UNKNOWN, radius=0.05))
        rt.deliver('detections', Detections(t, list(seen)), t)

    new_suspect(1.0)
    new_suspect(40.0)
    assert c.suspect_replans == 2 and len(out) == 3
    new_suspect(80.0)           # a third, with no ground processed since the first: waits
    if not idle_max:
        assert c.suspect_replans == 3 and len(out) == 4
        return
    assert c.suspect_replans == 2 and len(out) == 3
    # the tool processes 1.5 m^2 of the field (away from the suspects): the one waiting is
    # checked
    values = np.zeros(shape, dtype=np.int8)
    j, i = (10, 10) if seen[-1].x > 15.0 or seen[-1].y > 10.0 else (180, 280)
    values[j:j + 15, i:i + 10] = 100
    rt.deliver('processed', Grid(90.0, values, 0.0, 0.0, res), 90.0)
    rt.deliver('detections', Detections(120.0, list(seen)), 120.0)
    assert c.suspect_replans == 3 and len(out) == 4


def test_a_way_out_keeps_the_tracks_off_a_known_suspect_the_straight_one_would_press(
        area_file, suspect_refusals):
    """gen_at_uxo_lanes seed 65 with AP tracks refused once labelled: the way out of a zone's
    reach ran a track over a suspect beside the machine, the supervisor refused it at every
    re-plan and the mission ended pinned. Turned to face an AT mine the boom found ahead on
    the right, with an AP track in a gap of unprocessed ground behind on the left: straight
    back (the shortest way out) presses it; knowing it, the way out turns on the spot and backs
    out beside it, and the supervisor passes every motion."""
    from demining_control.coverage.no_go import footprint
    zone_at, ap_at = (13.8, 14.2), (11.4, 7.4)
    ap = Detection(x=ap_at[0], y=ap_at[1], depth=0.1, confidence=0.6, kind=DetectionKind.AP,
                   radius=0.05)

    def way_out(suspects):
        rt, out = _runtime(area_file, replan_mode='full')
        _drive_east(rt, 2.0, 12.0, 10.0, 1.0, 20.0)
        for k, yaw in enumerate(np.linspace(0.0, np.pi / 2, 20)):
            rt.deliver('pose', VehicleState(21.0 + k, 12.0, 10.0, float(yaw)), 21.0 + k)
        # processed: the field south of the lane driven, but a gap where the AP track lies
        res = 0.1
        values = np.full((200, 300), 0, dtype=np.int8)
        values[:int(11.0 / res), :] = 100
        values[int(6.5 / res):int(8.5 / res), int(10.5 / res):int(12.5 / res)] = 0
        rt.deliver('processed', Grid(40.0, values, 0.0, 0.0, res), 40.0)
        at = Detection(x=zone_at[0], y=zone_at[1], depth=0.2, confidence=0.9,
                       kind=DetectionKind.AT, radius=0.16)
        rt.deliver('detections', Detections(41.0, [at, *suspects]), 41.0)
        c = rt.component.config
        path = np.asarray(out[-1][1])
        reach = np.hypot(c.footprint_front_m, c.footprint_half_width_m)
        zone = disc_polygon(*zone_at, 1.16)
        clear = next(k for k, p in enumerate(path) if zone.distance(Point(p[0], p[1])) >= reach)
        return rt, [tuple(p) for p in path[:clear + 1]]
    rt, blind = way_out([])
    c = rt.component.config
    # straight back, the left track over the AP track
    assert len(blind) == 2 and all(abs(p[0] - 12.0) < 1e-9 for p in blind)
    tracks = footprint(12.0, blind[-1][1], np.pi / 2, 0.5 * c.track_length_m,
                       0.5 * c.track_length_m, c.contact_half_width_m)
    assert tracks.intersects(Point(*ap_at).buffer(0.3))
    assert suspect_refusals(blind, np.pi / 2, zone_at, ap_at)
    rt, known = way_out([ap])
    assert known[0][2] != pytest.approx(np.pi / 2)        # a pivot first
    assert suspect_refusals(known, np.pi / 2, zone_at, ap_at) == []
    assert not any('puts a track on a detected suspect' in text
                   for _, text, _ in rt.component.log.lines)


def test_a_machine_no_way_out_of_every_planned_zone_frees_leaves_the_supervisors(area_file):
    """gen_random seed 66 at stop 72: the machine had pivoted to face north-east when a false
    AT label 4 m ahead made a no-go zone over its flail; a too steep zone lay behind it and
    no-go zones to the south-east. Pinned, no pose a way out reached lay a pivot's reach from
    all of them, every re-plan began with a motion the supervisor refused, and six re-plans
    later the mission was aborted at 48 %. The supervisor knows no steep ground: out of the
    reach of its own zones (back, a pivot away, on) the machine is free, and the re-plan goes
    on."""
    from demining_control.coverage_planner_node import _pivot_reach
    rt, out = _runtime(area_file, replan_mode='full')
    comp = rt.component
    _drive_east(rt, 2.0, 12.0, 10.0, 1.0, 20.0)
    rt.deliver('detections', Detections(20.0, [Detection(
        x=14.6, y=5.72, depth=0.2, confidence=0.9, kind=DetectionKind.AT, radius=0.16)]), 20.0)
    comp.steep.append(disc_polygon(9.81, 4.16, 3.33))
    pose = VehicleState(29.0, 12.0, 10.0, 0.77)
    for k, yaw in enumerate(np.linspace(0.0, 0.77, 9)):            # a pivot on the spot
        rt.deliver('pose', VehicleState(21.0 + k, 12.0, 10.0, float(yaw)), 21.0 + k)
    comp.no_go.update([Detection(x=14.98, y=12.7, depth=0.05, confidence=0.05,
                                 kind=DetectionKind.AT, radius=0.21)])
    # pinned there: the re-plan backs out of every keep-out zone's reach
    assert comp._plan(pose, comp._processed_now(), 30.0, force_back_out=True), comp.error
    assert any('the zones the supervisor keeps' in m for m in rt.log.at('warning'))
    path = np.asarray(out[-1][1])
    assert np.allclose(path[0], (12.0, 10.0, 0.77), atol=1e-6)
    # the way out ends a pivot's reach clear of the supervisor's zones, and the supervisor
    # lets its first motion pass
    zones = [p for _, p in comp._supervisor_zones()]
    assert len(zones) == 2
    clear = [min(z.distance(Point(x, y)) for z in zones) for x, y, _ in path[:6]]
    assert max(clear) >= _pivot_reach(comp.config)
    assert comp._refused_start(pose, path) == (None, None)


def _tool_strips(path, work, c):
    """The ground the tool strikes on the work legs of ``path`` (base_link waypoints with
    the facing on the leg from each): from the hammers' rear reach at the leg's start to
    their front reach at its end, the tool's width."""
    from demining_control.coverage.allowed import rectangle
    from demining_control.coverage.lead_in import TOOL_DEPTH_M
    strips = []
    for i in np.flatnonzero(work[:len(path) - 1]):
        (ax, ay, yaw), (bx, by, _) = path[i], path[i + 1]
        length = math.hypot(bx - ax, by - ay)
        strips.append(Polygon(rectangle(ax, ay, yaw, TOOL_DEPTH_M - c.tool_offset_x_m,
                                        length + c.tool_offset_x_m + TOOL_DEPTH_M,
                                        0.5 * c.tool_width_m)))
    return unary_union(strips)


def _blind_lowering_runtime(area_file):
    """The square planned from (-5, 1) with back-ups off and nothing processed: driven 0.3 m
    off its path (:func:`_drive_along`), the first lowering's band is unseen and no back-up
    clears it."""
    rt, out = _runtime(area_file, sensor_width_m=3.2, lead_in_back_up=False)
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    rt.deliver('processed', Grid(0.5, np.zeros((260, 400), dtype=np.int8), -5.0, -3.0, 0.1),
               0.5)
    return rt, out


def test_a_lowering_no_back_up_clears_is_not_lowered_its_unseen_ground_planned_round(
        area_file):
    """gen_at_uxo_lanes seed 67: a lowering whose lead band the boom had not scanned, with
    no back-up on allowed ground to clear it, was lowered with a warning, and the flail set
    off a TM-62M the boom had never passed over. Now the band's unseen ground is marked and
    the remaining ground re-planned round it: no work leg's tool strikes it; once the boom
    has swept it, the next plan lifts the mark."""
    rt, out = _blind_lowering_runtime(area_file)
    old, old_work = rt.component.path, rt.component.work.copy()
    (_, path), = _drive_along(rt, -0.3, 200, out)
    c = rt.component
    assert not c.error and c.late_blind == 1 and c.late_lead_ins == 0
    mark, = c.unseen
    # the band of the lowering judged (the one nearest where the machine re-planned), in
    # the field
    k = min(lowerings(old[:, :2], old_work, old[:, 2], c.config.corner_angle_rad, None),
            key=lambda i: math.hypot(*(old[i, :2] - path[0, :2])))
    assert mark.area > 0.5 and mark.within(box(0.0, 0.0, 30.0, 20.0).buffer(1e-6))
    band = lead_band(*old[k], lead_geometry(c.config))
    assert mark.within(band.buffer(1e-6))
    assert any('not lowered' in text for _, text, _ in rt.log.lines)
    assert c.diagnostics(20.0)[2]['unseen_marks'] == 1
    # the re-plan from where the machine stands: no tool strikes the marked ground
    work = c.work
    assert c.path is path and _tool_strips(path, work, c.config).intersection(mark).area < 0.01
    assert _tool_strips(old, np.ones(len(old), dtype=bool), c.config).intersection(
        mark).area > 0.5            # (as the old path's would)
    # the boom sweeps it (the machine drives along it, 4 m behind), then a re-plan lifts it
    x0, y0 = mark.centroid.x - c.config.sensor_offset_x_m - 2.0, mark.centroid.y
    xs = np.linspace(x0, x0 + 4.0, 41)
    for i, x in enumerate(xs):
        t = 30.0 + 0.1 * i
        rt.deliver('pose', VehicleState(t, float(x), y0, 0.0), t)
    assert c.unseen[0] is mark           # nothing lifted before a plan
    rt.deliver('detections', Detections(40.0, [Detection(
        x=5.0, y=15.0, depth=0.15, confidence=0.9, kind=DetectionKind.AT, radius=0.15)]), 40.0)
    assert c.unseen[0].is_empty and any('no longer planned round' in text
                                        for _, text, _ in rt.log.lines)


def test_unseen_marks_are_lifted_for_a_re_cover_pass_and_their_ground_planned_again(
        area_file):
    """A mark is made where no back-up on allowed ground cleared a lowering's band, mostly
    with unprocessed ground behind the machine; planned round for good, its ground and the
    wedges beside it stayed unprocessed (held-out gen_notch_clay_exclusion seed 67: ten marks,
    coverage 92 -> 70 %). When the path is done the re-cover pass plans that ground again (its
    lowerings judged again where the machine comes to them); a mark made in that pass is not
    lifted again by it."""
    rt, out = _blind_lowering_runtime(area_file)
    _drive_along(rt, -0.3, 200, out)
    c = rt.component
    mark, = c.unseen
    assert _tool_strips(c.path, c.work, c.config).intersection(mark).area < 0.01
    rt.deliver('follower', FollowerStatus.DONE, 30.0)
    assert c.recover_passes == 1 and c.unseen[0].is_empty and not c.error
    assert any('1 unseen mark(s) lifted' in text for _, text, _ in rt.log.lines)
    # the re-cover's path processes the marked ground again
    assert _tool_strips(c.path, c.work, c.config).intersection(mark).area > 0.5 * mark.area
    # a mark made in this pass stays for it
    c.unseen.append(mark)
    c.unseen_pass.append(c.recover_passes)
    c._lift_unseen_for_recover()
    assert c.unseen[-1] is mark


def test_nothing_left_but_unseen_marks_is_a_re_cover_pass_not_the_end(area_file):
    """gen_notch_clay_exclusion seed 67: the re-plan after the tenth mark found nothing else
    to process and the coverage was made final at 70.1 %, the marks' ground never planned
    again. Nothing left but marked ground starts a re-cover pass with the marks lifted."""
    rt, out = _blind_lowering_runtime(area_file)
    _drive_along(rt, -0.3, 200, out)
    c = rt.component
    mark, = c.unseen
    # the whole field processed but the marked ground and a little round it (inside the
    # clearance the planner keeps off keep-out zones)
    res, x0, y0 = 0.1, -5.0, -3.0
    values = np.full((260, 400), 100, dtype=np.int8)
    minx, miny, maxx, maxy = mark.buffer(0.3).bounds
    values[int((miny - y0) / res):int((maxy - y0) / res) + 1,
           int((minx - x0) / res):int((maxx - x0) / res) + 1] = 0
    rt.deliver('processed', Grid(30.0, values, x0, y0, res), 30.0)
    pose = c.pose
    assert c._plan(pose, c._processed_now(), 31.0)
    assert not c.final and not c.error and c.recover_passes == 1 and c.unseen[0].is_empty
    assert _tool_strips(c.path, c.work, c.config).intersection(mark).area > 0.5 * mark.area
