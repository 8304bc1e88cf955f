"""Keep-out on the footprint (issue 8 item 3): the tracks' predicted footprint stays on allowed
ground (processed, declared safe, the parked position, the tool's sweep ahead) for every
motion: forward, reverse, pivot."""

import numpy as np
import pytest
from shapely.geometry import box

from demining_bringup.contract.datatypes import ToolCommand, ToolState, Twist2D, VehicleState
from demining_control.coverage.allowed import ContactParams
from demining_control.coverage.processed import ProcessedGrid
from demining_control.safety.allowed_ground import AllowedGround, Motion, motion_kind
from demining_control.safety.supervisor import (ALLOWED_GROUND_STOP, SafetyInputs, SafetyParams,
                                                SafetyState, SafetySupervisor)

FIELD = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
#: An approach lane from the west to the field's edge, 6 m wide round y = 10.
LANE = box(-20.0, 7.0, 0.0, 13.0)
CONTACT = ContactParams()
PARAMS = SafetyParams(allowed_ground_check=True, allowed_ground_enforce_declared=True)
FLAIL = PARAMS.flail_speed_radps


def ground(safe=LANE):
    return AllowedGround((-20.0, -10.0, 40.0, 30.0), CONTACT, safe)


def inputs(t, x, y, yaw, v, omega=0.0, working=True):
    """Every input fresh; the tool working (or raised and stopped)."""
    ts = ToolState(t, FLAIL, 0.0, 0.15) if working else ToolState(t, 0.0, 0.0, 0.0)
    return SafetyInputs(cmd=Twist2D(v, omega), cmd_stamp=t,
                        tool_cmd=ToolCommand(FLAIL, 0.0, 0.15), tool_cmd_stamp=t,
                        heartbeat_stamp=t, pose=VehicleState(t, x, y, yaw, v=0.0), pose_stamp=t,
                        tool_state=ts, tool_state_stamp=t, mission_clearing=True)


def test_motion_kinds():
    assert motion_kind(0.4, 0.1) is Motion.FORWARD
    assert motion_kind(-0.3, 0.0) is Motion.REVERSE
    assert motion_kind(0.0, 0.3) is Motion.PIVOT
    assert motion_kind(0.0, 0.0) is None


def test_every_motion_on_declared_safe_ground_passes():
    g = ground()
    for v, omega in ((0.4, 0.0), (-0.4, 0.0), (0.0, 0.5), (0.3, -0.2)):
        assert g.judge(-10.0, 10.0, 0.0, v, omega, 2.0, 5, False) is None


def test_leaving_declared_ground_is_refused_for_forward_reverse_and_pivot():
    g = ground(box(-20.0, 8.5, 0.0, 11.5))        # a lane just wider than the tracks (1.95 m)
    assert g.judge(-10.0, 10.0, 0.0, 0.4, 0.0, 2.0, 5, False) is None
    # a pivot swings the track ends out of the lane
    assert g.judge(-10.0, 10.0, 0.0, 0.0, 0.5, 2.0, 5, False) is Motion.PIVOT
    assert g.refused_at is not None
    # the lane ends at the field edge: forward into unprocessed ground without the tool
    assert g.judge(-2.5, 10.0, 0.0, 0.5, 0.0, 2.0, 5, False) is Motion.FORWARD
    # reverse out of the lane's end (into the west, beyond x = -20)
    assert g.judge(-17.5, 10.0, 0.0, -0.5, 0.0, 2.0, 5, False) is Motion.REVERSE


def test_forward_work_motion_is_allowed_where_the_tool_processes_before_the_tracks():
    g = ground()
    # the machine near the lane's end: tracks 0.7 m short of the field, tool 0.1 m short
    x = -2.7
    assert g.judge(x, 10.0, 0.0, 0.8, 0.0, 2.0, 5, False) is Motion.FORWARD
    assert g.judge(x, 10.0, 0.0, 0.8, 0.0, 2.0, 5, True) is None
    # ... but not when the tool's band behind it is unprocessed (the tool was not working)
    g2 = ground()
    x = 0.5                                        # tracks 2.5 m into the field
    assert g2.judge(x, 10.0, 0.0, 0.4, 0.0, 2.0, 5, True) is Motion.FORWARD
    # the tool marked its way in: then the tracks may follow
    for xi in np.arange(-2.5, x + 1e-9, 0.04):
        g2.mark_tool(xi, 10.0, 0.0, True)
    assert g2.judge(x, 10.0, 0.0, 0.4, 0.0, 2.0, 5, True) is None
    # a turn while working swings the tracks' outer corners out of the tool's strip
    assert g2.judge(x, 10.0, 0.0, 0.4, 0.5, 2.0, 5, True) is Motion.FORWARD
    # reversing along the processed strip passes; pivoting in it does not (the disc is wider)
    assert g2.judge(x, 10.0, 0.0, -0.4, 0.0, 2.0, 5, False) is None
    assert g2.judge(x, 10.0, 0.0, 0.0, 0.4, 2.0, 5, False) is Motion.PIVOT


def test_the_mission_grid_is_merged_whatever_its_alignment():
    grid = ProcessedGrid(FIELD, [], 0.1)
    for x in np.arange(0.0, 20.0, 0.1):           # a lane processed along y = 5
        grid.update(x, 5.0, 0.0, True)
    g = ground(None)
    g.park(-30.0, -30.0, 0.0)                      # parked off the raster: allows nothing here
    assert g.judge(10.0, 5.0, 0.0, -0.4, 0.0, 2.0, 5, False) is Motion.REVERSE
    g.merge_grid(grid.occupancy_values(), grid.origin_x, grid.origin_y, grid.resolution)
    assert g.judge(10.0, 5.0, 0.0, -0.4, 0.0, 2.0, 5, False) is None
    assert g.judge(10.0, 5.0, 0.0, 0.0, 0.4, 2.0, 5, False) is Motion.PIVOT
    # a coarser grid of another origin counts the same ground
    g2 = ground(None)
    coarse = grid.occupancy_values()[::2, ::2]
    g2.merge_grid(coarse, grid.origin_x, grid.origin_y, 0.2)
    assert g2.judge(10.0, 5.0, 0.0, -0.4, 0.0, 2.0, 5, False) is None
    # malformed grids change nothing
    g3 = ground(None)
    g3.merge_grid(np.zeros(0), 0.0, 0.0, 0.1)
    g3.merge_grid(np.full((3, 3), 100, dtype=np.int8), 0.0, 0.0, float('nan'))
    assert not g3.allowed.any()


def test_a_grid_whose_resolution_came_as_float32_is_merged_cell_for_cell():
    # over DDS nav_msgs/MapMetaData carries the resolution as a float32 (0.1 -> 0.10000000149)
    grid = ProcessedGrid(FIELD, [], 0.1)
    for x in np.arange(0.0, 20.0, 0.1):
        grid.update(x, 5.0, 0.0, True)
    exact, wire = ground(None), ground(None)
    exact.merge_grid(grid.occupancy_values(), grid.origin_x, grid.origin_y, grid.resolution)
    wire.merge_grid(grid.occupancy_values(), grid.origin_x, grid.origin_y,
                    float(np.float32(grid.resolution)))
    assert np.array_equal(exact.allowed, wire.allowed) and exact.allowed.any()
    # on the raster's own cells: one slice, no per-cell map (the general path cost 7 ms a
    # merge on a 1 ha field, once a second)
    assert not wire._grid_map


def test_the_parked_position_is_allowed_but_not_the_ground_round_it():
    g = ground(None)
    g.park(-8.0, 1.0, 0.0)
    g.park(5.0, 5.0, 0.0)                          # only the first pose parks
    assert g.judge(-8.0, 1.0, 0.0, 0.0, 0.0, 2.0, 5, False) is None
    assert g.judge(-8.0, 1.0, 0.0, 0.4, 0.0, 2.0, 5, False) is Motion.FORWARD
    assert g.judge(5.0, 5.0, 0.0, -0.4, 0.0, 2.0, 5, False) is Motion.REVERSE


def test_the_supervisor_refuses_with_a_reason_and_passes_on_allowed_ground():
    sup = SafetySupervisor(FIELD, PARAMS, safe_ground=LANE)
    state, cmd, tool = sup.update(inputs(1.0, -10.0, 10.0, 0.0, 0.4), 1.0)
    assert state is SafetyState.OK and cmd.v == pytest.approx(0.4)
    # off the lane's side: south, no safe ground, nothing processed
    state, cmd, tool = sup.update(inputs(1.1, -10.0, 9.0, -1.5708, 0.4), 1.1)
    assert state is SafetyState.PROTECTIVE_STOP and cmd == Twist2D()
    assert sup.reason.startswith(ALLOWED_GROUND_STOP + ' (forward')
    assert tool.flail_speed == pytest.approx(FLAIL)       # the rotors may keep turning
    assert any(ALLOWED_GROUND_STOP in str(t['reason']) for t in sup.transitions)
    # the reverse back onto the lane passes: the machine is never pinned
    state, cmd, _ = sup.update(inputs(1.2, -10.0, 9.0, -1.5708, -0.4), 1.2)
    assert state is SafetyState.OK and cmd.v == pytest.approx(-0.4)


def test_the_supervisor_judges_the_motion_it_passes_on():
    """The interlock turns a forward command into a pivot (tool not ready): the pivot is
    what is judged, and refused on a lane too narrow for it."""
    sup = SafetySupervisor(FIELD, PARAMS, safe_ground=box(-20.0, 8.9, 0.5, 11.1))
    state, cmd, _ = sup.update(inputs(1.0, -2.0, 10.0, 0.0, 0.4, 0.4, working=False), 1.0)
    assert state is SafetyState.PROTECTIVE_STOP and cmd == Twist2D()
    assert sup.reason.startswith(ALLOWED_GROUND_STOP + ' (pivot')


def test_the_check_is_off_in_the_core_by_default():
    sup = SafetySupervisor(FIELD, SafetyParams())
    assert sup.allowed is None
    state, cmd, _ = sup.update(inputs(1.0, -5.0, 10.0, -1.5708, 0.4), 1.0)
    assert state is SafetyState.OK


# --- the node: enforced with declared safe ground, recorded without ---------------------------

def _component(area_file, margin):
    import json
    from demining_bringup.hosts.runtime import ComponentRuntime, RecordingLog
    from demining_control.safety_supervisor_node import SafetySupervisorComponent
    if margin:
        with open(area_file, encoding='utf-8') as fh:
            doc = json.load(fh)
        doc['properties']['safe_margin_m'] = margin
        with open(area_file, 'w', encoding='utf-8') as fh:
            json.dump(doc, fh)
    out = []
    rt = ComponentRuntime(SafetySupervisorComponent, sink=lambda p, v: out.append((p, v)),
                          log=RecordingLog())
    # (the tests place the machine where they need it: no localisation-jump check)
    rt.configure({'area_file': area_file, 'people_monitor_required': False,
                  'imu_required': False, 'pose_jump_check': False,
                  'allowed_ground_enforce_declared': True})
    rt.activate(0.0)
    return rt, out


def _feed(rt, now, x, y, yaw, v, omega=0.0):
    from demining_bringup.contract.states import MissionState
    rt.deliver('heartbeat', None, now)
    rt.deliver('cmd', Twist2D(v, omega), now)
    rt.deliver('tool_cmd', ToolCommand(FLAIL, 0.0, 0.15), now)
    rt.deliver('pose', VehicleState(now, x, y, yaw, v=0.0), now)
    rt.deliver('tool_state', ToolState(now, 0.0, 0.0, 0.0), now)
    rt.deliver('mission', MissionState.CLEARING, now)
    rt.fire('control', now)


def _reasons(out):
    return [e.reason for p, e in out if p == 'events']


def test_the_node_enforces_on_declared_safe_ground_and_the_refusal_goes_on_the_events(
        area_file):
    rt, out = _component(area_file, 10.0)         # a 10 m safe belt round the field
    _feed(rt, 1.0, -5.0, 10.0, 0.0, 0.4)
    assert [v for p, v in out if p == 'cmd_vel'][-1].v == pytest.approx(0.4)
    # turning into the field while the tool is raised: the pivot's tracks reach the field
    for k in range(12):
        _feed(rt, 1.1 + 0.1 * k, -1.0, 10.0, 0.0, 0.0, 0.5)
    assert [v for p, v in out if p == 'cmd_vel'][-1] == Twist2D()
    assert any(r.startswith(ALLOWED_GROUND_STOP + ' (pivot') for r in _reasons(out))
    diag = rt.component.diagnostics(2.5)[2]
    assert diag['allowed_ground_refused_at'] and diag['allowed_ground_recorded'] == 0


def test_the_node_records_without_declared_safe_ground(area_file):
    from demining_control.safety.supervisor import (ALLOWED_GROUND_RECORDED,
                                                    ALLOWED_GROUND_UNDECLARED)
    rt, out = _component(area_file, 0.0)
    assert ALLOWED_GROUND_UNDECLARED in _reasons(out)
    _feed(rt, 1.0, -5.0, 10.0, 0.0, 0.4)
    assert [v for p, v in out if p == 'cmd_vel'][-1].v == pytest.approx(0.4)
    assert any(r.startswith(ALLOWED_GROUND_RECORDED) for r in _reasons(out))
    assert rt.component.diagnostics(1.0)[2]['allowed_ground_recorded'] == 1


def test_the_node_measures_slip_over_ground_from_gnss(area_file):
    """The tracks (and the localisation fusing them) say 0.4 m/s, the GNSS fixes say the
    machine creeps: a slip stop waiting for a resume."""
    from demining_bringup.contract.datatypes import GnssFix
    from demining_bringup.contract.geo import LocalCartesian
    from demining_control.safety.supervisor import SLIP_STOP
    rt, out = _component(area_file, 10.0)
    lc = LocalCartesian(45.0, 16.0, 0.0)          # the fixture's origin
    t = 1.0
    while t < 6.0:
        x = -5.0 + 0.05 * (t - 1.0)               # 0.05 m/s over ground
        lat, lon, _ = lc.to_geodetic([x], [10.0], [0.0])
        rt.deliver('gnss', GnssFix(t, float(lat[0]), float(lon[0]), 0.0, [0.0004] * 3), t)
        _feed(rt, t, -5.0, 10.0, 0.0, 0.4)
        rt.deliver('pose', VehicleState(t, -5.0, 10.0, 0.0, v=0.4), t)
        t = round(t + 0.1, 1)
    assert rt.component.supervisor.limit_latch.startswith(SLIP_STOP)
    assert [v for p, v in out if p == 'cmd_vel'][-1] == Twist2D()


def test_declared_ground_is_only_recorded_by_default():
    """Enforced, a refused pivot after a new no-go zone pinned the training-field mission (the
    planner does not yet re-plan on this refusal): by default it is recorded."""
    from shapely.geometry import box
    from demining_control.safety.supervisor import ALLOWED_GROUND_RECORD_ONLY, SafetySupervisor
    field = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
    safe = box(-10, -10, 40, 30).difference(box(0, 0, 30, 20))
    sup = SafetySupervisor(field, SafetyParams(allowed_ground_check=True), safe_ground=safe)
    assert not sup.allowed_enforced and ALLOWED_GROUND_RECORD_ONLY in sup.notes
    sup = SafetySupervisor(field, PARAMS, safe_ground=safe)
    assert sup.allowed_enforced


def test_recorded_departures_say_where_and_are_numbered_first_each_then_the_powers_of_two():
    """Without declared safe ground the departures are recorded, not refused: the record
    gets each of the first ones with the machine's position, then the 2^k-th (bounded)."""
    from demining_bringup.contract.states import departure_number
    from demining_control.safety.supervisor import ALLOWED_GROUND_RECORDED
    sup = SafetySupervisor(FIELD, SafetyParams(allowed_ground_check=True))
    assert not sup.allowed_enforced
    sup.notes.clear()
    t = 0.0
    for _ in range(100):
        # a pivot in the unprocessed field (it leaves allowed ground), then standing still
        for omega in (0.4, 0.0):
            t += 0.1
            sup.update(inputs(t, 12.0, 8.0, 0.0, 0.0, omega, working=False), t)
    departures = [n for n in sup.notes if n.startswith(ALLOWED_GROUND_RECORDED)]
    numbers = [departure_number(n) for n in departures]
    assert numbers == list(range(1, 21)) + [32, 64]
    assert all(' at (12.0, 8.0) [departure ' in n for n in departures)
    assert sup.allowed_recorded == 100


# --- suspects under a track: refused wherever allowed ground is only recorded ---------------

def _suspect(x, y, kind):
    from demining_bringup.contract.datatypes import Detection
    return Detection(x, y, 0.12, 0.3, kind, radius=0.05)


def test_a_pivot_that_would_put_a_track_on_a_suspect_is_found_where_it_would():
    g = ground()
    g.set_hazards([(12.0, 9.5, 0.3)])        # 1.5 m beside base_link: under a swinging track
    assert g.judge(12.0, 8.0, 0.0, 0.0, 0.5, 2.0, 5, False) is Motion.PIVOT
    assert g.hazard_at == (12.0, 9.5)                  # the suspect, by its centre
    # the same pivot far from it leaves allowed ground but presses no suspect
    assert g.judge(20.0, 8.0, 0.0, 0.0, 0.5, 2.0, 5, False) is Motion.PIVOT
    assert g.hazard_at is None
    # a suspect on processed ground is the tool's business, not the tracks'
    grid = ProcessedGrid(FIELD, resolution=0.1, tool_width_m=4.0, tool_offset_x_m=0.0)
    for x in np.arange(8.0, 16.0, 0.1):
        grid.update(x, 9.0, 0.0, True)
    g.merge_grid(np.where(grid.processed, 100, 0), 0.0, 0.0, 0.1)
    g.judge(12.0, 8.0, 0.0, 0.0, 0.5, 2.0, 5, False)
    assert g.hazard_at is None


def test_a_work_run_whose_tool_processes_the_suspect_first_presses_nothing():
    g = ground(None)
    g.park(10.0, 10.0, 0.0)
    g.set_hazards([(13.0, 10.0, 0.3)])       # on the lane ahead, under the tool's sweep
    g.judge(10.0, 10.0, 0.0, 0.5, 0.0, 4.0, 8, True)
    assert g.hazard_at is None
    g.judge(10.0, 10.0, 0.0, 0.5, 0.0, 4.0, 8, False)    # tool raised: the tracks would
    assert g.hazard_at is not None


def test_the_supervisor_refuses_a_pivot_onto_a_suspect_even_where_it_only_records():
    """A TM-62P 12 cm deep in laterite, seen at the boom's edge, was an unknown track for
    300 s before a pivot on unprocessed ground set it off under a track (a trial field)."""
    from demining_bringup.contract.datatypes import DetectionKind
    from demining_bringup.contract.states import HAZARD_UNDER_TRACK, hazard_position
    sup = SafetySupervisor(FIELD, SafetyParams(allowed_ground_check=True,
                                               suspect_track_enforce=True))
    assert not sup.allowed_enforced
    pivot = inputs(1.0, 12.0, 8.0, 0.0, 0.0, 0.5, working=False)
    assert sup.update(pivot, 1.0)[0] is SafetyState.OK          # recorded only
    for kind, state in ((DetectionKind.CLUTTER, SafetyState.OK),
                        (DetectionKind.UNKNOWN, SafetyState.PROTECTIVE_STOP),
                        (DetectionKind.AP, SafetyState.PROTECTIVE_STOP)):
        sup.on_detections([_suspect(13.6, 9.4, kind)])    # under a swinging track end
        got, twist, _ = sup.update(inputs(2.0, 12.0, 8.0, 0.0, 0.0, 0.5, working=False), 2.0)
        assert got is state, kind
        assert (HAZARD_UNDER_TRACK in sup.reason) is (state is SafetyState.PROTECTIVE_STOP)
        if state is SafetyState.PROTECTIVE_STOP:
            assert twist.v == 0.0 and twist.omega == 0.0
            # which suspect: the coverage planner answers that one (it may lie beyond the
            # footprint's pivot reach on a longer motion)
            assert hazard_position(sup.reason) == (13.6, 9.4)
    # a straight run away from it passes
    assert sup.update(inputs(3.0, 12.0, 8.0, 0.0, -0.3, 0.0, working=False), 3.0)[0] \
        is SafetyState.OK


@pytest.mark.parametrize('ap_enforce', [True, False])
def test_by_default_a_track_on_an_ap_labelled_suspect_is_refused(ap_enforce):
    """rect_loam seed 64: a PMN the fusion tracked as AP went off under a track where a
    re-planned lane began, recorded 1.8 s before and passed. An AP label is refused without
    ``suspect_track_enforce`` (``ap_track_enforce``); an unknown there is only recorded."""
    from demining_bringup.contract.datatypes import DetectionKind
    from demining_bringup.contract.states import HAZARD_UNDER_TRACK, hazard_position
    sup = SafetySupervisor(FIELD, SafetyParams(allowed_ground_check=True,
                                               ap_track_enforce=ap_enforce))
    assert not sup.allowed_enforced and not sup.params.suspect_track_enforce
    pivot = inputs(1.0, 12.0, 8.0, 0.0, 0.0, 0.5, working=False)
    sup.on_detections([_suspect(13.6, 9.4, DetectionKind.UNKNOWN)])
    assert sup.update(pivot, 1.0)[0] is SafetyState.OK          # recorded only
    sup.on_detections([_suspect(13.6, 9.4, DetectionKind.AP)])    # the same track, now AP
    got, twist, _ = sup.update(inputs(2.0, 12.0, 8.0, 0.0, 0.0, 0.5, working=False), 2.0)
    if not ap_enforce:
        assert got is SafetyState.OK
        return
    assert got is SafetyState.PROTECTIVE_STOP and HAZARD_UNDER_TRACK in sup.reason
    assert twist.v == 0.0 and twist.omega == 0.0
    assert hazard_position(sup.reason) == (13.6, 9.4)
    # an AP track elsewhere leaves the unknown under the track recorded only
    sup.on_detections([_suspect(13.6, 9.4, DetectionKind.UNKNOWN),
                       _suspect(25.0, 15.0, DetectionKind.AP)])
    assert sup.update(inputs(3.0, 12.0, 8.0, 0.0, 0.0, 0.5, working=False), 3.0)[0] \
        is SafetyState.OK


def test_by_default_a_track_on_a_suspect_is_recorded_once_a_suspect():
    """Not refused by default (a pin there walls in the field while the planner turns on
    unprocessed ground): each suspect a passed motion puts a track on goes in the record."""
    from demining_bringup.contract.datatypes import DetectionKind
    from demining_bringup.contract.states import HAZARD_UNDER_TRACK
    sup = SafetySupervisor(FIELD, SafetyParams(allowed_ground_check=True))
    sup.on_detections([_suspect(13.6, 9.4, DetectionKind.UNKNOWN),
                       _suspect(20.0, 15.0, DetectionKind.AP)])
    sup.notes.clear()
    for t in (1.0, 1.1, 1.2):
        assert sup.update(inputs(t, 12.0, 8.0, 0.0, 0.0, 0.5, working=False), t)[0] \
            is SafetyState.OK
    recorded = [n for n in sup.notes if HAZARD_UNDER_TRACK in n]
    assert len(recorded) == 1 and recorded[0].startswith('allowed ground not enforced')
    assert recorded[0].endswith(' at (13.6, 9.4)')
