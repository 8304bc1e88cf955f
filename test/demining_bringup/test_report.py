"""Tests of the clearance report writer."""

import json
import math
import os
import stat

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
                'clearance_rate_m2_per_h', 'detections', 'ap_detonation_events', 'at_detonations',
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


def test_no_go_zones_are_not_cleared_area():
    """gen_random seed 66: a PMN-2 labelled AT lay at the edge of a strip the tool had
    processed (the flail never touched it); its no-go zone, left for an EOD team, lay inside
    the cleared area the record released."""
    from shapely.geometry import Point
    rec = _record(no_go_zones=[(9.3, 3.4, 1.2)])
    cleared = cleared_polygon(rec)
    assert not cleared.intersects(Point(9.3, 3.4).buffer(1.1))
    assert cleared.area == pytest.approx(600.0 - math.pi * 1.2 ** 2, rel=2e-3)


def test_empty_mission_still_writes_a_report(tmp_path):
    rec = _record(processed=None, detections=[], events=[], safety_events=[], end_stamp=10.0,
                  outcome='aborted', reason='operator abort', coverage_percent=0.0,
                  area_cleared_m2=0.0)
    summary = write_report(rec, str(tmp_path))
    assert summary['clearance_rate_m2_per_h'] == 0.0 and summary['outcome'] == 'aborted'
    assert 'operator abort' in (tmp_path / 'report.md').read_text()


# -- summary schema -----------------------------------------------------------------------

def test_summary_carries_its_schema_version_and_the_simulated_flag(tmp_path):
    from demining_bringup.report import SCHEMA_VERSION
    assert SCHEMA_VERSION == 7
    on_disk = json.loads(json.dumps(write_report(_record(), str(tmp_path / 'a'))))
    assert on_disk['schema_version'] == 7 and on_disk['simulated'] is True
    assert 'simulated mission' in (tmp_path / 'a' / 'report.md').read_text()
    real = write_report(_record(simulated=False), str(tmp_path / 'b'))
    assert real['simulated'] is False
    assert 'simulated mission' not in (tmp_path / 'b' / 'report.md').read_text()


def test_every_summary_field_is_documented():
    doc = open(os.path.join(os.path.dirname(__file__), '..', '..', 'docs', 'report.md'),
               encoding='utf-8').read()
    from demining_bringup.report import build_summary
    for key in build_summary(_record()):
        assert f'`{key}`' in doc, f'summary.json field {key} is not in docs/report.md'


# -- file hygiene: 0644, atomic replacement, unique run folders ---------------------------

def test_report_files_are_readable_by_others(tmp_path):
    old = os.umask(0o077)             # even a strict umask gives the documented mode
    try:
        write_report(_record(), str(tmp_path))
    finally:
        os.umask(old)
    for name in REPORT_FILES:
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o644, name


def test_a_pre_existing_file_is_replaced_whole(tmp_path):
    from demining_bringup.report import atomic_write
    target = tmp_path / 'summary.json'
    target.write_bytes(b'x' * 100_000)             # longer than what replaces it
    os.chmod(target, 0o600)
    inode = os.stat(target).st_ino
    write_report(_record(), str(tmp_path))
    text = target.read_text()
    assert json.loads(text)['schema_version'] == 7 and 'x' * 10 not in text
    assert os.stat(target).st_ino != inode          # a new file renamed over the old one
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644
    atomic_write(str(target), b'short')
    assert target.read_bytes() == b'short'
    assert sorted(os.listdir(tmp_path)) == sorted(REPORT_FILES)     # no temp file left


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    from demining_bringup import report
    target = tmp_path / 'report.md'
    target.write_text('old report')

    def broken_replace(src, dst):
        raise OSError('disk gone')
    monkeypatch.setattr(report.os, 'replace', broken_replace)
    with pytest.raises(OSError, match='disk gone'):
        report.atomic_write(str(target), b'new report')
    assert target.read_text() == 'old report'
    assert os.listdir(tmp_path) == ['report.md']


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path):
    import datetime as dt
    from demining_bringup.report import new_run_dir
    now = dt.datetime(2026, 11, 30, 7, 48, 11, tzinfo=dt.timezone.utc)
    got = [new_run_dir(str(tmp_path / 'runs'), now) for _ in range(3)]
    assert [os.path.basename(p) for p in got] == ['20261130T074811Z', '20261130T074811Z-2',
                                                  '20261130T074811Z-3']
    assert all(os.path.isdir(p) for p in got)


def test_concurrent_processes_never_share_a_run_folder(tmp_path):
    import subprocess
    import sys
    code = ('import datetime as dt, sys; from demining_bringup.report import new_run_dir; '
            'print(new_run_dir(sys.argv[1], dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)))')
    procs = [subprocess.Popen([sys.executable, '-c', code, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]
    got = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(set(got)) == 4 and sorted(os.listdir(tmp_path)) == sorted(
        os.path.basename(p) for p in got)


# -- GeoJSON (RFC 7946 right-hand rule) ---------------------------------------------------

def _geojson_polygons(path):
    from shapely.geometry import Polygon as P
    doc = json.loads(open(path).read())
    out = []
    for f in doc['features']:
        if f['geometry']['type'] == 'Polygon':
            rings = f['geometry']['coordinates']
            out.append((f['properties'].get('status'), P(rings[0], rings[1:])))
    return out


def test_geojson_outer_rings_are_counter_clockwise_and_holes_clockwise(tmp_path):
    from shapely.geometry.polygon import orient
    # A clockwise field and an exclusion zone inside the processed ground: a hole.
    rec = _record(field=[(0, 0), (0, 20), (30, 20), (30, 0)],
                  exclusion_zones=[[(10, 5), (15, 5), (15, 10), (10, 10)]])
    write_report(rec, str(tmp_path))
    polys = _geojson_polygons(tmp_path / 'cleared_area.geojson')
    assert {status for status, _ in polys} == {'processed', 'hazard_area'}
    holes = 0
    for status, p in polys:
        assert p.exterior.is_ccw, status
        for ring in p.interiors:
            assert not ring.is_ccw, status
            holes += 1
        # shapely's orient with sign=1.0 is the RFC 7946 orientation: nothing to change.
        want = orient(p, sign=1.0)
        assert list(want.exterior.coords) == list(p.exterior.coords), status
        got_holes = [list(r.coords) for r in p.interiors]
        assert [list(r.coords) for r in want.interiors] == got_holes, status
    assert holes == 1


def test_a_detonation_under_a_track_is_reported_as_such_not_as_under_the_tool(tmp_path):
    events = [SimEvent(44.0, 'ap_detonation', 'ap_1', 'AP', 2.4, 2.4, 'left track'),
              SimEvent(90.0, 'ap_detonation', 'ap_2', 'AP', 5.0, 5.0, 'flail')]
    summary = write_report(_record(events=events), str(tmp_path))
    assert summary['ap_detonations'] == 2 and summary['detonations_under_tracks'] == 1
    md = (tmp_path / 'report.md').read_text()
    assert '| detonations under a track (not the tool) | 1 |' in md
    assert 'under the tool' not in md
    assert '| 44.0 s | AP | left track |' in md and '| AP | flail |' in md


def test_the_report_says_which_soil_permittivity_the_gpr_depths_were_read_with(tmp_path):
    est = {'in_use': 5.74, 'prior': 9.0, 'estimate': 5.74, 'fits': 15, 'estimated': True}
    on_disk = write_report(_record(soil_permittivity=est), str(tmp_path / 'a'))
    assert on_disk['soil_permittivity'] == est
    assert '| soil permittivity of the GPR depths | 5.7, estimated from 15 hyperbola fits ' \
        '(prior 9.0) |' in (tmp_path / 'a' / 'report.md').read_text()
    prior = {'in_use': 9.0, 'prior': 9.0, 'estimate': None, 'fits': 0, 'estimated': False}
    write_report(_record(soil_permittivity=prior), str(tmp_path / 'b'))
    assert '9.0, the prior (no hyperbola fit)' in (tmp_path / 'b' / 'report.md').read_text()
    assert write_report(_record(), str(tmp_path / 'c'))['soil_permittivity'] is None
