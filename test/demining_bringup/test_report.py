"""Tests of the clearance report writer."""

import json
import os

import numpy as np
import pytest

from demining_bringup.contract.datatypes import Detection, DetectionKind, SimEvent
from demining_bringup.report import REPORT_FILES, MissionRecord, cleared_polygon, write_report
from demining_bringup.contract.world import GeoOrigin


def _record(**kw):
    grid = np.zeros((240, 340), bool)
    grid[20:220, 20:320] = True           # x 0..30, y 0..20 at 0.1 m from origin (-2, -2)
    base = dict(world_name='unit', field=[(0, 0), (30, 0), (30, 20), (0, 20)],
                origin=GeoOrigin(44.5, 18.0, 200.0), processed=grid,
                processed_origin_x=-2.0, processed_origin_y=-2.0, processed_resolution=0.1,
                coverage_percent=100.0, area_field_m2=600.0, area_cleared_m2=600.0,
                detections=[Detection(5, 5, 0.1, 0.9, DetectionKind.AP, id=1)],
                events=[SimEvent(100.0, 'neutralised', 'pmn_1', 'AP', 5.0, 5.0),
                        SimEvent(200.0, 'at_detonation', 'tm62_1', 'AT', 20.0, 10.0)],
                safety_events=[{'stamp': 3.0, 'state': 'protective_stop', 'reason': 'x'}],
                start_stamp=10.0, end_stamp=1810.0, tool_width_m=2.0, working_depth_m=0.15)
    base.update(kw)
    return MissionRecord(**base)


def test_every_file_is_written_with_the_required_figures(tmp_path):
    summary = write_report(_record(), str(tmp_path / 'run'))
    for name in REPORT_FILES:
        assert os.path.getsize(tmp_path / 'run' / name) > 0, name
    on_disk = json.loads((tmp_path / 'run' / 'summary.json').read_text())
    assert on_disk == json.loads(json.dumps(summary))
    for key in ('coverage_percent', 'area_cleared_m2', 'mission_time_s',
                'clearance_rate_m2_per_h', 'detections', 'neutralised', 'at_detonations',
                'safety_events'):
        assert key in on_disk
    assert on_disk['mission_time_s'] == 1800.0
    assert on_disk['clearance_rate_m2_per_h'] == pytest.approx(1200.0)
    assert on_disk['at_detonations'] == 1
    det = on_disk['detections'][0]
    assert det['kind'] == 'AP' and det['lat'] > 44.5 and det['lon'] > 18.0


def test_cleared_area_is_the_processed_ground_inside_the_field(tmp_path):
    rec = _record()
    assert cleared_polygon(rec).area == pytest.approx(600.0, rel=1e-6)
    write_report(rec, str(tmp_path))
    doc = json.loads((tmp_path / 'cleared_area.geojson').read_text())
    processed = [f for f in doc['features'] if f['properties']['status'] == 'processed']
    assert len(processed) == 1 and processed[0]['properties']['area_m2'] == pytest.approx(600.0)
    lon, lat = processed[0]['geometry']['coordinates'][0][0]
    assert 17.99 < lon < 18.01 and 44.49 < lat < 44.51


def test_exclusion_zones_are_not_cleared_area():
    rec = _record(exclusion_zones=[[(10, 5), (15, 5), (15, 10), (10, 10)]])
    assert cleared_polygon(rec).area == pytest.approx(575.0, rel=1e-6)


def test_empty_mission_still_writes_a_report(tmp_path):
    rec = _record(processed=None, detections=[], events=[], safety_events=[], end_stamp=10.0,
                  outcome='aborted', reason='operator abort', coverage_percent=0.0,
                  area_cleared_m2=0.0)
    summary = write_report(rec, str(tmp_path))
    assert summary['clearance_rate_m2_per_h'] == 0.0 and summary['outcome'] == 'aborted'
    assert 'operator abort' in (tmp_path / 'report.md').read_text()
