"""The report rebuilt from the journal (record.py): outcome, completion fields, truth."""

import dataclasses
import json
import os

import numpy as np
import pytest

from demining_bringup import stack as st
from demining_bringup.contract.datatypes import Detection, DetectionKind, SimEvent
from demining_bringup.contract.errors import JournalError
from demining_bringup.contract.journal import (GridGeometry, JournalWriter, file_sha256,
                                               journal_path)
from demining_bringup.contract.sdf import load_world
from demining_bringup.record import (COMPLETION_FILE, INTERRUPTED, TRUTH_FILE, load_record,
                                     rebuild_report, report_if_missing)
from demining_bringup.results import RunResult, read_summary
from demining_bringup.report import REPORT_FILES
from demining_control.coverage.processed import ProcessedGrid

WORLD = st.find_world('training_field')
PARAMS = {'processed_resolution_m': 0.1, 'tool_width_m': 2.0, 'tool_offset_x_m': 2.6,
          'working_depth_m': 0.15}


def _journal(run_dir, *, terminal=True, simulated=True, extra_tracks=()):
    """A journal of the training field: left half processed, one AP neutralised, one tracked."""
    world = load_world(WORLD)
    grid = ProcessedGrid(world.field, world.exclusion_zones, 0.1, 2.0, 2.6)
    meta = {'world_name': world.name, 'area_file': WORLD, 'world_sha256': file_sha256(WORLD),
            'area': {'field': world.field, 'exclusion_zones': world.exclusion_zones,
                     'origin': dataclasses.asdict(world.origin)},
            'parameters': PARAMS, 'vehicle_profile': 'mv4_flail', 'simulated': simulated,
            'task_id': 'T-042', 'hazard_id': 'CHA-7', 'organisation': 'NPA'}
    j = JournalWriter(journal_path(run_dir), meta, GridGeometry(
        grid.origin_x, grid.origin_y, grid.resolution, grid.width, grid.height))
    j.transition(0.0, 'planning', 'waiting for the coverage path')
    j.transition(1.0, 'clearing', 'following the coverage path')
    xs = grid.origin_x + (np.arange(grid.width) + 0.5) * grid.resolution
    processed = grid.mask & (xs[None, :] < 15.0)
    j.progress(100.0, processed, 50.0, 300.0)
    for k, depth in enumerate((0.15, 0.16, 0.14, 0.15)):
        j.tool(10.0 + k, 80.0, depth, True)
        j.commit(10.0 + k)
    # ap_pmn_1 (6, 5) neutralised; ap_pmn_2 (9, 16) tracked; a false alarm at (28, 1);
    # clutter_can_1 (11.8, 3.6) set off (sensed by the machine, without its name)
    j.event(SimEvent(50.0, 'neutralised', 'ap_pmn_1', 'AP', 6.0, 5.0, 'tool'))
    j.event(SimEvent(60.0, 'ap_detonation', 'clutter_can_1', 'clutter', 11.8, 3.6, 'tool'))
    j.tracks(100.0, [Detection(9.1, 16.0, 0.1, 0.9, DetectionKind.AP, id=1),
                     Detection(28.0, 1.0, 0.1, 0.6, DetectionKind.UNKNOWN, id=2),
                     *extra_tracks])
    if terminal:
        j.transition(120.0, 'complete', 'coverage path complete')
    j.commit(120.0)
    j.close()


def test_a_live_mine_in_a_no_go_zone_is_not_left_in_released_ground(tmp_path):
    """gen_random seed 66: a PMN-2 labelled AT at a processed strip's edge, untouched by
    the flail, was counted live in processed ground although its no-go zone leaves it for an
    EOD team: the record's processed ground leaves the no-go zones out."""
    _journal(str(tmp_path), extra_tracks=[
        Detection(14.5, 12.0, 0.15, 0.9, DetectionKind.AT, id=3, radius=0.16)])
    rebuild_report(str(tmp_path))
    truth = json.loads((tmp_path / TRUTH_FILE).read_text())
    fate = {i['item_id']: i for i in truth['items']}
    assert not fate['ap_pmn2_1']['in_processed_ground']
    assert truth['mines_left_active_in_processed_ground'] == 1     # ap_pmn_2 only


def test_a_journal_cut_short_gives_an_interrupted_report(tmp_path):
    _journal(str(tmp_path), terminal=False)
    summary = rebuild_report(str(tmp_path))
    assert summary['outcome'] == INTERRUPTED and 'journal ends at 120 s' in summary['reason']
    assert summary['coverage_percent'] == pytest.approx(50.0, abs=1.0)
    for name in REPORT_FILES + (COMPLETION_FILE, TRUTH_FILE):
        assert os.path.getsize(tmp_path / name) > 0, name
    assert 'neutralised' not in summary and 'ap_pmn_1' not in json.dumps(summary)


def test_completion_fields(tmp_path):
    _journal(str(tmp_path))
    record, _, _ = load_record(str(tmp_path))
    c = record.completion
    assert (c['task_id'], c['hazard_id'], c['organisation']) == ('T-042', 'CHA-7', 'NPA')
    assert c['machine'] == 'simulated machine (mv4_flail)' and c['processing_depth_m'] == 0.15
    assert c['start_utc'].endswith('Z') and c['end_utc'] >= c['start_utc']
    assert c['reference_point']['lat'] == pytest.approx(44.8725)
    pts = c['turning_points']
    assert len(pts) == 4 and pts[0]['from'] == 'reference point'
    # (0,0) -> (30,0) is due east, (30,0) -> (30,20) due north
    assert pts[1]['bearing_deg'] == pytest.approx(90.0) and pts[1]['distance_m'] == 30.0
    assert pts[2]['bearing_deg'] == pytest.approx(0.0) and pts[2]['distance_m'] == 20.0
    assert pts[1]['lon'] > pts[0]['lon'] and pts[2]['lat'] > pts[1]['lat']
    assert c['residual_risk']['unprocessed_m2'] == pytest.approx(300.0, abs=10.0)
    assert c['processing_depth_achieved_m'] == {'samples': 4, 'median': 0.15, 'p05': 0.14}


def test_truth_has_each_item_fate_and_stays_out_of_the_record(tmp_path):
    _journal(str(tmp_path))
    rebuild_report(str(tmp_path))
    truth = json.loads((tmp_path / TRUTH_FILE).read_text())
    assert truth['simulation_truth'] is True and 'SIMULATION' in truth['warning']
    fate = {i['item_id']: i['fate'] for i in truth['items']}
    assert fate['ap_pmn_1'] == 'neutralised'
    assert fate['ap_pmn_2'] == 'detected'
    assert fate['clutter_shrapnel_3'] == 'left_active'      # (2.8, 2.6): processed half
    assert fate['ap_ts50_1'] == 'missed'                     # (25.5, 15.5): unprocessed half
    # ap_pmn2_1 (14.5, 12) is in processed ground, not destroyed, not detected
    assert fate['ap_pmn2_1'] == 'left_active'
    assert truth['mines_left_active_in_processed_ground'] == 2     # ap_pmn2_1 and ap_pmn_2
    assert truth['false_alarms'] == 1
    assert truth['false_alarms_per_m2'] == pytest.approx(1 / 600.0, rel=1e-3)
    md = (tmp_path / 'report.md').read_text()
    assert 'T-042' in md and 'turning point' in md
    for name in ('summary.json', 'detections.geojson', 'report.md'):
        text = (tmp_path / name).read_text()
        assert 'ap_pmn_1' not in text and 'clutter_can_1' not in text, name
    summary = json.loads((tmp_path / 'summary.json').read_text())
    assert summary['ap_detonations'] == 1 and summary['ap_detonation_events'][0]['x'] == 11.8
    assert fate['clutter_can_1'] == 'neutralised'


def test_a_real_machine_writes_no_truth_file(tmp_path):
    _journal(str(tmp_path), simulated=False)
    rebuild_report(str(tmp_path))
    assert not (tmp_path / TRUTH_FILE).exists()
    assert json.loads((tmp_path / COMPLETION_FILE).read_text())['machine'] == 'mv4_flail'


def test_no_journal_is_one_clear_error(tmp_path):
    with pytest.raises(JournalError, match='no mission journal'):
        rebuild_report(str(tmp_path))


def test_the_journaled_mine_map_is_drawn_with_the_no_go_zones(tmp_path):
    from demining_bringup.contract.journal import read_journal
    from demining_bringup.record import MINE_MAP_IMAGE
    _journal(str(tmp_path))
    rebuild_report(str(tmp_path))
    assert not os.path.exists(tmp_path / MINE_MAP_IMAGE)         # no map journaled: none
    content = read_journal(journal_path(str(tmp_path)))
    j = JournalWriter(journal_path(str(tmp_path)), {}, content.grid)
    values = np.ones((260, 360), dtype=np.int8)
    values[100:104, 100:104] = 90
    j.mine_map(1.0, values, -3.0, -3.0, 0.1)
    j.tracks(1.0, content.tracks + [Detection(7.3, 7.3, 0.1, 0.9, DetectionKind.AT,
                                              radius=0.16, id=9)])
    j.close(2.0)
    record = load_record(str(tmp_path))[0]
    assert record.no_go_zones == [pytest.approx((7.3, 7.3, 0.16 + 1.0))]
    rebuild_report(str(tmp_path))
    assert os.path.getsize(tmp_path / MINE_MAP_IMAGE) > 10_000


def test_a_zone_stays_in_the_record_when_its_track_is_re_labelled(tmp_path):
    """The planner keeps a no-go zone once drawn: the record must list it too, with the area
    it takes out of the ground to process, although the track ends labelled AP."""
    from demining_bringup.contract.journal import read_journal
    _journal(str(tmp_path))
    content = read_journal(journal_path(str(tmp_path)))
    j = JournalWriter(journal_path(str(tmp_path)), {}, content.grid)
    at = Detection(22.0, 10.0, 0.05, 0.2, DetectionKind.AT, radius=0.15, id=7)
    j.tracks(130.0, content.tracks + [at])
    j.tracks(131.0, content.tracks + [dataclasses.replace(at, kind=DetectionKind.AP,
                                                          confidence=0.3)])
    j.close(132.0)
    content = read_journal(journal_path(str(tmp_path)))
    assert [d.kind for d in content.tracks if d.id == 7] == [DetectionKind.AP]
    assert [(d.id, d.kind) for d in content.no_go_tracks] == [(7, DetectionKind.AT)]
    summary = rebuild_report(str(tmp_path))
    radius = 0.15 + 1.0
    zone, = summary['no_go_zones']
    assert (zone['x'], zone['y'], zone['radius_m']) == (22.0, 10.0, pytest.approx(radius))
    assert zone['lat'] > 44.8725 and zone['lon'] > 0.0
    # the disc is in the unprocessed half: the workable coverage is the processed area over
    # the hazard area without it and the clearance the tool keeps (the shared default 0.5 m:
    # the journal's parameters do not set it)
    left = radius + 0.5
    assert summary['area_no_go_m2'] == pytest.approx(3.14159 * left ** 2, rel=0.03)
    assert summary['coverage_workable_percent'] == pytest.approx(
        100.0 * summary['area_cleared_m2'] / (summary['area_field_m2']
                                              - summary['area_no_go_m2']), abs=1e-3)
    zones = json.loads((tmp_path / COMPLETION_FILE).read_text())['residual_risk']['no_go_zones']
    assert [(z['id'], z['kind'], z['label_now']) for z in zones] == [(7, 'AT', 'AP')]
    assert 'No-go zones' in (tmp_path / 'report.md').read_text()


def test_a_run_without_a_report_gets_one_from_its_journal(tmp_path):
    # A DDS run under load: the mission manager (another process) did not answer the abort
    # within the runner's grace and wrote no report. The journal has the record.
    _journal(str(tmp_path), terminal=False)
    lines = []
    missing = RunResult(mission_state='clearing', run_dir=str(tmp_path), summary=None,
                        wall_time_s=30.0, interrupted='interrupted by SIGTERM')
    kept = report_if_missing(missing, lines.append)
    assert kept.summary['outcome'] == INTERRUPTED and kept.interrupted == missing.interrupted
    assert read_summary(str(tmp_path))['outcome'] == INTERRUPTED
    assert any('rebuilt from the mission journal' in ln for ln in lines)
    # a report the mission manager wrote stays as it is; no journal, nothing to rebuild
    assert report_if_missing(kept, lines.append) is kept
    bare = RunResult(mission_state='idle', run_dir=str(tmp_path / 'none'), summary=None,
                     wall_time_s=1.0)
    assert report_if_missing(bare, lines.append) is bare
