"""Tests of the mission state machine and its record."""

import json
import os

import numpy as np
import pytest

from demining_bringup.contract.datatypes import (Detection, DetectionKind, PlanStatus, SimEvent,
                                                 ToolState, VehicleState)
from demining_bringup.report import MissionRecord, write_report
from demining_bringup.contract.states import PlanState
from demining_control.mission.manager import MissionManager, MissionParams, MissionState
from demining_bringup.contract.world import GeoOrigin

FIELD = [(0.0, 0.0), (20.0, 0.0), (20.0, 3.6), (0.0, 3.6)]
PATH = np.array([[-3.6, 0.9], [23.6, 0.9], [23.6, 2.7], [-3.6, 2.7]])
WORKING = ToolState(0.0, 83.8, 0.0, 0.15)


def drive_lanes(m, t0=0.0, dt=0.1, v=1.0):
    """Drive both lanes of PATH with the tool working; return the end time."""
    t = t0
    for (x0, y0), (x1, y1) in ((PATH[0], PATH[1]), (PATH[2], PATH[3])):
        yaw = np.arctan2(y1 - y0, x1 - x0)
        n = int(np.hypot(x1 - x0, y1 - y0) / (v * dt))
        for k in range(n + 1):
            f = k / n
            m.on_tool_state(WORKING, t)
            m.on_pose(VehicleState(t, x0 + f * (x1 - x0), y0 + f * (y1 - y0), yaw))
            t += dt
    return t


def test_state_sequence_and_record(tmp_path):
    m = MissionManager(FIELD, [], MissionParams(min_coverage_percent=95.0))
    assert m.state is MissionState.IDLE
    assert m.update(1.0) is MissionState.PLANNING          # auto_start
    m.on_safety_state('protective_stop', 1.0)
    m.on_safety_state('ok', 2.0)
    m.on_path(PATH, 3.0)
    assert m.state is MissionState.CLEARING
    m.on_follower_status('following', 3.0)
    t = drive_lanes(m, 3.0)
    m.on_detections([Detection(5.0, 1.0, 0.1, 0.9, DetectionKind.AP)])
    m.on_event(SimEvent(10.0, 'neutralised', 'pmn1', 'AP', 5.0, 1.0))
    m.on_follower_status('done', t)
    # the path is driven and all is processed, but the planner has not called the coverage
    # final: a second pass over the suspects may come (coverage_planner reprocess_suspects)
    assert m.update(t) is MissionState.CLEARING
    m.on_plan_status(PlanStatus(t, PlanState.COMPLETE.value, 'nothing left to plan'), t)
    assert m.update(t) is MissionState.COMPLETE
    assert [x['state'] for x in m.transitions] == ['planning', 'clearing', 'complete']
    assert m.coverage_percent() >= 99.0
    kw = m.record_kwargs()
    assert kw['outcome'] == 'complete' and kw['start_stamp'] == 1.0 and kw['end_stamp'] == t
    assert kw['area_field_m2'] == pytest.approx(72.0)
    assert kw['area_cleared_m2'] == pytest.approx(72.0, rel=0.01)
    assert kw['processed'].dtype == bool and kw['processed'].any()
    assert kw['planned_path'].shape == (4, 2)
    traj = kw['trajectory']
    steps = np.hypot(*np.diff(traj, axis=0).T)
    assert len(traj) > 50 and steps.min() >= 0.5 - 1e-9     # decimated to 0.5 m
    assert [e['state'] for e in kw['safety_events']] == ['protective_stop', 'ok']
    assert len(kw['detections']) == 1 and kw['events'][0].kind == 'neutralised'
    record = MissionRecord(world_name='test', origin=GeoOrigin(45.0, 16.0), **kw)
    write_report(record, str(tmp_path))
    summary = json.loads((tmp_path / 'summary.json').read_text())
    assert summary
    assert os.path.exists(tmp_path / 'report.md')


def _driven_without_working(params):
    """A mission whose path was driven with the tool never working (nothing processed)."""
    m = MissionManager(FIELD, [], params)
    m.update(0.0)
    m.on_path(PATH, 0.0)
    m.on_pose(VehicleState(0.5, 0.0, 0.9, 0.0))
    m.on_pose(VehicleState(1.0, 5.0, 0.9, 0.0))
    m.on_follower_status('done', 2.0)
    return m


def test_completion_below_min_coverage_waits_for_the_planners_final_word():
    m = _driven_without_working(MissionParams())
    assert m.state is MissionState.CLEARING         # the planner may re-cover the rest
    m.on_plan_status(PlanStatus(3.0, PlanState.COMPLETE.value,
                                '2 re-cover passes made; 72.0 m^2 of the field left'), 3.0)
    assert m.update(3.0) is MissionState.COMPLETE
    assert 'below 99.0 %' in m.reason and 'the tool did not process' in m.reason
    assert m.reason.endswith('planner: 2 re-cover passes made; 72.0 m^2 of the field left')


def test_the_reason_tells_raised_tool_time_from_stalls():
    """The reason called all the time the tool did not process "stalls, e-stops, spin-up",
    though most of it is normally the tool raised for transits and pivots (21,370 s on a
    wet-clay trial mission that had few stalls)."""
    m = MissionManager(FIELD, [], MissionParams())
    m.update(0.0)
    m.on_path(PATH, 0.0)
    raised = ToolState(0.0, 83.8, 0.0, 0.0)        # rotor at speed, tool up: a transit
    slow = ToolState(0.0, 30.0, 0.0, 0.15)         # at depth, rotor below speed: a stall
    t = 0.0
    for state, seconds in ((raised, 30.0), (slow, 4.0)):
        for _ in range(int(seconds / 0.1)):
            m.on_tool_state(state, t)
            m.on_pose(VehicleState(t, 1.0, 1.0, 0.0))
            t += 0.1
    m.on_tool_event('stall', t, 'flail 30.0 rad/s')
    m.on_tool_event('recovered', t + 1.0)
    m.on_follower_status('done', t + 2.0)
    m.on_plan_status(PlanStatus(t + 3.0, PlanState.COMPLETE.value, ''), t + 3.0)
    assert m.update(t + 3.0) is MissionState.COMPLETE
    assert 'not at depth 30 s' in m.reason and 'at depth below speed 4 s' in m.reason
    assert '1 tool stall;' in m.reason and 'stalls, e-stops' not in m.reason


def test_a_re_cover_path_keeps_the_mission_clearing():
    m = _driven_without_working(MissionParams(recover_wait_s=10.0))
    m.on_plan_status(PlanStatus(3.0, PlanState.PLANNED.value, 're-cover'), 3.0)
    m.on_path(PATH, 3.0)
    m.on_follower_status('following', 3.1)
    assert m.update(30.0) is MissionState.CLEARING
    m.on_follower_status('done', 40.0)
    m.on_plan_status(PlanStatus(41.0, PlanState.COMPLETE.value, 'nothing left'), 41.0)
    assert m.update(41.0) is MissionState.COMPLETE


def test_a_silent_planner_does_not_hold_a_driven_path_forever():
    m = _driven_without_working(MissionParams(recover_wait_s=10.0))
    assert m.update(11.9) is MissionState.CLEARING
    assert m.update(12.0) is MissionState.COMPLETE
    assert 'below 99.0 %' in m.reason and 'planner:' not in m.reason


def test_manual_start_and_abort():
    m = MissionManager(FIELD, [], MissionParams(auto_start=False))
    assert m.update(5.0) is MissionState.IDLE
    assert m.request_start(6.0)[0] and m.state is MissionState.PLANNING
    assert not m.request_start(6.5)[0]
    m.on_path(PATH, 7.0)
    ok, _ = m.abort('aborted by operator', 8.0)
    assert ok and m.state is MissionState.ABORTED and m.reason == 'aborted by operator'
    assert not m.abort('again', 9.0)[0]
    assert m.record_kwargs()['outcome'] == 'aborted'
    # a terminal mission does not come back
    m.on_follower_status('done', 10.0)
    assert m.state is MissionState.ABORTED


def test_abort_on_long_estop_but_not_short():
    m = MissionManager(FIELD, [], MissionParams(estop_abort_s=30.0))
    m.update(0.0)
    m.on_path(PATH, 0.0)
    m.on_safety_state('estop', 10.0)
    assert m.update(39.0) is MissionState.CLEARING
    m.on_safety_state('protective_stop', 39.5)     # reset in time
    assert m.update(100.0) is MissionState.CLEARING
    m.on_safety_state('estop', 100.0)
    assert m.update(130.5) is MissionState.ABORTED and 'e-stop' in m.reason


def test_abort_on_mission_time_and_planning_timeout():
    m = MissionManager(FIELD, [], MissionParams(max_mission_time_s=100.0))
    m.update(0.0)
    m.on_path(PATH, 1.0)
    assert m.update(100.0) is MissionState.CLEARING
    assert m.update(100.5) is MissionState.ABORTED and 'mission time' in m.reason
    m = MissionManager(FIELD, [], MissionParams(planning_timeout_s=10.0))
    m.update(0.0)
    assert m.update(10.5) is MissionState.ABORTED and 'no coverage path' in m.reason


def test_the_time_limit_is_the_area_at_the_slowest_clearance_rate_unless_capped_sooner():
    # 72 m^2 at 36 m^2/h: 2 h, plus a 10 s margin; no progress is allowed longer
    params = dict(min_clearance_rate_m2_per_h=36.0, time_budget_margin_s=10.0,
                  no_progress_abort_s=100000.0)
    m = MissionManager(FIELD, [], MissionParams(**params))
    assert m.time_limit_s == pytest.approx(7210.0)
    m.update(0.0)
    m.on_path(PATH, 1.0)
    assert m.update(7209.0) is MissionState.CLEARING
    assert m.update(7211.0) is MissionState.ABORTED
    assert '72 m^2 at 36 m^2/h' in m.reason
    # an operator's cap applies when it is sooner, never when it is later
    assert MissionManager(FIELD, [], MissionParams(
        max_mission_time_s=600.0, **params)).time_limit_s == 600.0
    assert MissionManager(FIELD, [], MissionParams(
        max_mission_time_s=9000.0, **params)).time_limit_s == pytest.approx(7210.0)
    # the field's own size sets the default budget: ten times the area, ten times the time
    big = MissionManager([(x * 10.0, y * 10.0) for x, y in FIELD])
    small = MissionManager(FIELD)
    margin = small.params.time_budget_margin_s
    assert big.time_limit_s - margin == pytest.approx(100.0 * (small.time_limit_s - margin))


def test_bad_inputs_are_ignored():
    m = MissionManager(FIELD)
    m.update(0.0)
    m.on_path(np.array([[0.0, float('nan')]]), 1.0)
    assert m.state is MissionState.PLANNING
    m.on_path(PATH, 1.0)
    m.on_pose(VehicleState(float('nan'), 1.0, 1.0, 0.0))
    m.on_tool_state(ToolState(1.0, float('nan')), 1.0)
    assert len(m.trajectory) == 0


def test_a_mission_that_makes_no_progress_ends_with_the_reason():
    """A machine fenced in or stopped for good: the mission ends, it does not stand for hours."""
    m = MissionManager(FIELD, [], MissionParams(no_progress_abort_s=600.0))
    m.update(1.0)
    m.on_path(PATH, 2.0)
    t = drive_lanes(m, 2.0)                # progress: not aborted however long it took
    assert m.update(t) is MissionState.CLEARING
    m.on_safety_state('protective_stop', t, 'no-go zone ahead (detected AT mine or UXO)')
    for k in range(1, 600):
        m.on_pose(VehicleState(t + k, 23.0, 2.7, 0.0))     # standing: nothing new processed
        assert m.update(t + k) is MissionState.CLEARING
    assert m.update(t + 601.0) is MissionState.ABORTED
    assert m.reason.startswith('no progress: no new ground processed for 60')
    assert 'no-go zone ahead' in m.reason


def test_a_refused_plan_ends_the_mission_at_once_with_the_planner_reason():
    m = MissionManager(FIELD)
    m.update(0.0)
    assert m.state is MissionState.PLANNING
    m.on_plan_status(PlanStatus(1.0, PlanState.WAITING.value, 'waiting for the first pose'), 1.0)
    assert m.update(1.0) is MissionState.PLANNING
    why = 'cannot plan coverage: the plan leaves the geofence (...) for 12.0 m'
    m.on_plan_status(PlanStatus(2.0, PlanState.REFUSED.value, why), 2.0)
    assert m.state is MissionState.ABORTED and m.reason == why
    # a refusal of a re-plan while clearing ends it too (the old path would cross the zone)
    m = MissionManager(FIELD)
    m.update(0.0)
    m.on_path(PATH, 1.0)
    m.on_plan_status(PlanStatus(5.0, PlanState.REFUSED.value, 'cannot plan coverage: x'), 5.0)
    assert m.state is MissionState.ABORTED


def test_a_protective_stop_that_never_clears_ends_the_mission():
    m = MissionManager(FIELD, [], MissionParams(protective_stop_abort_s=300.0,
                                                no_progress_abort_s=10000.0))
    m.update(0.0)
    m.on_path(PATH, 1.0)
    m.on_safety_state('protective_stop', 10.0, 'person in the stop zone')
    assert m.update(309.0) is MissionState.CLEARING
    m.on_safety_state('ok', 309.5)                      # cleared in time
    m.on_safety_state('protective_stop', 400.0, 'geofence breach')
    assert m.update(699.0) is MissionState.CLEARING
    assert m.update(700.5) is MissionState.ABORTED
    assert 'protective stop for more than 300 s (geofence breach)' == m.reason


def _journal_of(m, tmp_path):
    """Write mission ``m``'s record so far into a journal in tmp_path and read it back."""
    from demining_bringup.contract.journal import (GridGeometry, JournalWriter, journal_path,
                                                   read_journal)
    g = m.grid
    j = JournalWriter(journal_path(str(tmp_path)), {}, GridGeometry(
        g.origin_x, g.origin_y, g.resolution, g.width, g.height))
    for t in m.transitions:
        j.transition(t['stamp'], t['state'], t['reason'])
    for e in m.safety_events:
        j.safety(e['stamp'], e['state'], e['reason'])
    for x, y in m.trajectory:
        j.pose(0.0, x, y, 0.0)
    j.progress(0.0, g.processed, m.coverage_percent(), g.processed_area_m2())
    j.commit(40.0)
    j.close()
    return read_journal(journal_path(str(tmp_path)))


def test_a_mission_restored_from_its_journal_goes_on_where_it_stopped(tmp_path):
    m = MissionManager(FIELD, [], MissionParams())
    m.update(1.0)
    m.on_safety_state('ok', 2.0)
    m.on_path(PATH, 3.0)
    drive_lanes(m, 3.0)
    m.on_tool_event('stall', 30.0, 'flail 30.0 rad/s')
    content = _journal_of(m, tmp_path)
    resumed = MissionManager(FIELD, [], MissionParams())
    resumed.restore(content, offset_s=40.0)
    assert resumed.tool_idle_summary().endswith(', 1 tool stall')     # the stall still counts
    assert resumed.coverage_percent() == pytest.approx(m.coverage_percent())
    assert resumed.start_stamp == pytest.approx(1.0 - 40.0)     # on the new run's clock
    assert [t['state'] for t in resumed.transitions] == ['planning', 'clearing']
    assert resumed.update(0.0) is MissionState.PLANNING
    assert resumed.transitions[-1]['reason'].startswith('resumed from the journal')
    assert resumed.start_stamp == pytest.approx(-39.0)          # the start is kept


def test_a_finished_mission_is_not_restored(tmp_path):
    m = MissionManager(FIELD, [], MissionParams())
    m.update(1.0)
    m.abort('operator', 2.0)
    with pytest.raises(ValueError, match='already aborted'):
        MissionManager(FIELD, [], MissionParams()).restore(_journal_of(m, tmp_path), 2.0)


def test_a_machine_that_stands_says_why_within_seconds():
    m = MissionManager(FIELD, [], MissionParams(stall_log_s=10.0))
    m.update(0.0)
    assert m.stalled(5.0) is None
    assert 'no safety state' in m.stalled(10.5)          # the supervisor never spoke
    m.on_path(PATH, 11.0)
    m.on_safety_state('protective_stop', 12.0, 'geofence breach')
    assert m.stalled(21.0) is None
    assert m.stalled(22.5) == 'standing for 10 s in a protective stop: geofence breach'
    m.on_safety_state('ok', 23.0)
    assert m.stalled(40.0) is None


@pytest.mark.parametrize('flail, tiller, state, working', [
    (83.8, 0.0, ToolState(0.0, 83.8, 0.0, 0.15), True),        # flail at speed and depth
    (83.8, 0.0, ToolState(0.0, 40.0, 0.0, 0.15), False),       # flail slow
    (0.0, 20.9, ToolState(0.0, 0.0, 20.9, 0.25), True),        # tiller-only at speed
    (0.0, 20.9, ToolState(0.0, 0.0, 2.0, 0.25), False),        # tiller drum jammed: not processed
    (83.8, 20.9, ToolState(0.0, 83.8, 2.0, 0.15), False),      # flail + tiller: both must run
    (83.8, 20.9, ToolState(0.0, 83.8, 20.9, 0.15), True),
    (83.8, 0.0, ToolState(0.0, 83.8, 0.0, 0.05), False),       # too shallow
])
def test_ground_counts_processed_only_with_every_rotor_at_speed(flail, tiller, state, working):
    """A tiller-only machine's record used to look at the flail speed alone (0 >= 0)."""
    p = MissionParams(flail_speed_radps=flail, tiller_speed_radps=tiller,
                      working_depth_m=state.depth if working else 0.15)
    m = MissionManager(FIELD, params=p)
    m.on_tool_state(state, 1.0)
    assert m.tool_working(1.0) is working


def test_motions_leaving_allowed_ground_go_in_the_record_and_the_report(tmp_path):
    """The supervisor records them without a state change: the record kept only people-zone
    events of that kind, so the report never said where the tracks left allowed ground."""
    from demining_bringup.contract.states import allowed_ground_departure
    m = MissionManager(FIELD, [], MissionParams())
    m.update(1.0)
    m.on_safety_state('ok', 1.5, 'all inputs fresh and valid')
    m.on_safety_state('ok', 2.0, allowed_ground_departure('tracks would leave allowed ground '
                                                          '(pivot)', 3.0, 1.0, 1))
    m.on_safety_state('ok', 9.0, allowed_ground_departure('forward', 9.0, 2.0, 32))
    assert [e['stamp'] for e in m.safety_events] == [1.5, 2.0, 9.0]
    record = MissionRecord(world_name='test', origin=GeoOrigin(45.0, 16.0),
                           **m.record_kwargs())
    summary = write_report(record, str(tmp_path))
    assert summary['allowed_ground_departures'] == 32
    md = (tmp_path / 'report.md').read_text()
    assert 'at (3.0, 1.0) [departure 1]' in md
    assert 'allowed ground (recorded, not refused; listed in the safety events) | 32 |' in md
