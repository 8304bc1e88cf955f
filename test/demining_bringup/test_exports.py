"""Exports for mine-action information systems (exports.py): KML 2.2 and GeoPackage 1.3.1."""

import os
import sqlite3
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from shapely import wkb
from shapely.geometry import Point, Polygon

from demining_bringup.contract.datatypes import Detection, DetectionKind, SimEvent
from demining_bringup.contract.geo import LocalCartesian
from demining_bringup.contract.world import GeoOrigin
from demining_bringup.exports import (GPKG_APPLICATION_ID, GPKG_FILE, GPKG_USER_VERSION,
                                      KML_FILE, KML_NS, WGS84_SRS_ID, gpkg_geometry,
                                      parse_gpkg_geometry)
from demining_bringup.report import MissionRecord, write_report

ORIGIN = GeoOrigin(44.5, 18.0, 200.0)
K = '{%s}' % KML_NS


def _record():
    grid = np.zeros((240, 340), bool)
    grid[20:120, 20:320] = True                 # the southern half: y 0..10
    grid[60:70, 100:110] = False                # a hole: x 6..7, y 4..5
    return MissionRecord(
        world_name='unit', field=[(0, 0), (30, 0), (30, 20), (0, 20)], origin=ORIGIN,
        exclusion_zones=[[(25, 15), (28, 15), (28, 18)]], processed=grid,
        processed_origin_x=-2.0, processed_origin_y=-2.0, processed_resolution=0.1,
        coverage_percent=50.0, area_field_m2=595.5, area_cleared_m2=299.0,
        detections=[Detection(5, 5, 0.1, 0.9, DetectionKind.AP, id=1),
                    Detection(15, 15, 0.2, 0.8, DetectionKind.AT, radius=0.16, id=2)],
        events=[SimEvent(200.0, 'ap_detonation', '', '', 20.0, 5.0, 'tool')],
        working_depth_m=0.15, outcome='aborted',
        completion={'task_id': 'T-042', 'hazard_id': 'CHA-7', 'organisation': 'NPA'},
        no_go_zones=[(15.0, 15.0, 1.16)])


@pytest.fixture(scope='module')
def run_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp('run'))
    write_report(_record(), folder)
    return folder


def _local(lon, lat):
    lc = LocalCartesian(ORIGIN.latitude_deg, ORIGIN.longitude_deg, ORIGIN.elevation_m)
    e, n, _ = lc.to_enu(lat, lon, ORIGIN.elevation_m)
    return float(e), float(n)


def test_the_kml_parses_and_holds_every_layer_in_wgs84(run_dir):
    path = os.path.join(run_dir, KML_FILE)
    assert os.stat(path).st_mode & 0o777 == 0o644
    root = ET.parse(path).getroot()
    assert root.tag == K + 'kml'
    folders = {f.find(K + 'name').text: f for f in root.iter(K + 'Folder')}
    assert list(folders) == ['hazard_area', 'exclusion_zones', 'cleared_area', 'no_go_zones',
                             'detections', 'detonations']
    area = folders['hazard_area'].find(K + 'Placemark')
    data = {d.get('name'): d.find(K + 'value').text for d in area.iter(K + 'Data')}
    ids = (data['task_id'], data['hazard_id'], data['organisation'])
    assert ids == ('T-042', 'CHA-7', 'NPA')
    # the cleared ground: one polygon with its hole, outer ring counter-clockwise
    cleared = folders['cleared_area'].find(K + 'Placemark')
    outer = cleared.find(f'.//{K}outerBoundaryIs/{K}LinearRing/{K}coordinates').text.split()
    ring = Polygon([_local(*map(float, c.split(',')[:2])) for c in outer])
    assert ring.area == pytest.approx(300.0, rel=1e-3) and ring.exterior.is_ccw
    assert len(cleared.findall(f'.//{K}innerBoundaryIs')) == 1
    points = [p.find(f'.//{K}coordinates').text for p in folders['detections'].iter(K + 'Point')]
    assert [_local(*map(float, c.split(',')[:2])) for c in points] == [
        pytest.approx((5.0, 5.0), abs=1e-3), pytest.approx((15.0, 15.0), abs=1e-3)]
    assert len(list(folders['detonations'].iter(K + 'Placemark'))) == 1


def test_the_geopackage_has_the_required_tables_and_readable_geometries(run_dir):
    path = os.path.join(run_dir, GPKG_FILE)
    assert os.stat(path).st_mode & 0o777 == 0o644
    con = sqlite3.connect(path)
    assert con.execute('PRAGMA application_id').fetchone()[0] == GPKG_APPLICATION_ID
    assert con.execute('PRAGMA user_version').fetchone()[0] == GPKG_USER_VERSION
    assert con.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
    assert con.execute('PRAGMA foreign_key_check').fetchall() == []
    srs = {r[0] for r in con.execute('SELECT srs_id FROM gpkg_spatial_ref_sys')}
    assert srs == {-1, 0, WGS84_SRS_ID}
    contents = {r[0]: r[1:] for r in con.execute(
        'SELECT table_name, data_type, srs_id, min_x, max_x FROM gpkg_contents')}
    columns = {r[0]: r[1:] for r in con.execute(
        'SELECT table_name, column_name, geometry_type_name, srs_id FROM '
        'gpkg_geometry_columns')}
    assert set(contents) == set(columns) == {'hazard_area', 'exclusion_zones', 'cleared_area',
                                             'no_go_zones', 'detections', 'detonations'}
    assert all(c[:2] == ('features', WGS84_SRS_ID) for c in contents.values())
    assert columns['cleared_area'] == ('geom', 'MULTIPOLYGON', WGS84_SRS_ID)
    blob, area, task = con.execute('SELECT geom, area_m2, task_id FROM cleared_area').fetchone()
    srs_id, (minx, maxx, miny, maxy), body = parse_gpkg_geometry(blob)
    geom = wkb.loads(body)
    assert srs_id == WGS84_SRS_ID and geom.geom_type == 'MultiPolygon' and task == 'T-042'
    assert geom.bounds == pytest.approx((minx, miny, maxx, maxy))
    assert contents['cleared_area'][2:] == pytest.approx((minx, maxx))
    assert area == pytest.approx(299.0, rel=1e-3)
    zone, radius = con.execute('SELECT geom, radius_m FROM no_go_zones').fetchone()
    disc = wkb.loads(parse_gpkg_geometry(zone)[2])
    assert radius == pytest.approx(1.16)
    assert Point(_local(*disc.centroid.coords[0])).distance(Point(15.0, 15.0)) < 1e-3
    kinds = [r[0] for r in con.execute('SELECT kind FROM detections ORDER BY track_id')]
    assert kinds == ['AP', 'AT']


def test_a_geopackage_geometry_blob_round_trips():
    blob = gpkg_geometry(Point(18.1, 44.2))
    assert blob[:2] == b'GP' and blob[3] == 0b11
    srs, env, body = parse_gpkg_geometry(blob)
    assert srs == WGS84_SRS_ID and env == (18.1, 18.1, 44.2, 44.2)
    assert wkb.loads(body).equals(Point(18.1, 44.2))
    with pytest.raises(ValueError):
        parse_gpkg_geometry(b'XX' + blob[2:])


def test_an_empty_record_still_writes_valid_exports(tmp_path):
    rec = _record()
    rec.processed = np.zeros_like(rec.processed)
    rec.detections, rec.events, rec.no_go_zones = [], [], []
    write_report(rec, str(tmp_path))
    con = sqlite3.connect(str(tmp_path / GPKG_FILE))
    assert con.execute('SELECT COUNT(*) FROM cleared_area').fetchone()[0] == 0
    assert con.execute('SELECT COUNT(*) FROM hazard_area').fetchone()[0] == 1
    ET.parse(str(tmp_path / KML_FILE))
