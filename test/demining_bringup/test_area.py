"""Tests of hazard-area loading from SDF worlds and GeoJSON."""

import json

import pytest

from demining_bringup.contract.area import load_area
from demining_bringup.contract.geo import LocalCartesian
from demining_bringup.stack import find_world
from demining_bringup.contract.world import WorldError


def test_area_from_the_training_world():
    area = load_area(find_world('training_field'))
    assert area.area_m2 == pytest.approx(600.0)
    assert area.origin.latitude_deg != 0.0


def _square_geojson(path, lat0=44.0, lon0=18.0, hole=True, **props):
    lc = LocalCartesian(lat0, lon0, 0.0)

    def ring(pts):
        lat, lon, _ = lc.to_geodetic([p[0] for p in pts], [p[1] for p in pts], 0.0)
        return [[float(b), float(a)] for a, b in zip(lat, lon)]

    rings = [ring([(0, 0), (40, 0), (40, 25), (0, 25), (0, 0)])]
    if hole:
        rings.append(ring([(10, 10), (12, 10), (12, 12), (10, 12), (10, 10)]))
    doc = {'type': 'Feature', 'properties': {'name': 'task-17', 'origin': [lat0, lon0], **props},
           'geometry': {'type': 'Polygon', 'coordinates': rings}}
    path.write_text(json.dumps(doc))
    return str(path)


def test_area_from_geojson_with_a_hole(tmp_path):
    area = load_area(_square_geojson(tmp_path / 'a.geojson'))
    assert area.name == 'task-17'
    assert area.area_m2 == pytest.approx(1000.0 - 4.0, rel=1e-4)
    xs = [p[0] for p in area.field]
    assert min(xs) == pytest.approx(0.0, abs=1e-3) and max(xs) == pytest.approx(40.0, abs=1e-3)


@pytest.mark.parametrize('content, fragment', [
    ('{', 'cannot read GeoJSON'),
    ('{"type": "Point", "coordinates": [1, 2]}', 'unsupported GeoJSON'),
    ('{"type": "Polygon", "coordinates": [[[18, 44], [18.001, 44.001], [18, 44.001], '
     '[18.001, 44], [18, 44]]]}', 'polygon'),
])
def test_bad_geojson_is_a_world_error(tmp_path, content, fragment):
    path = tmp_path / 'bad.geojson'
    path.write_text(content)
    with pytest.raises(WorldError, match=fragment):
        load_area(str(path))


def test_missing_file_and_empty_name():
    with pytest.raises(WorldError, match='no such file'):
        load_area('/nonexistent.sdf')
    with pytest.raises(WorldError, match='area_file'):
        load_area('')


def test_mine_action_ids_from_the_field_feature_or_the_document(tmp_path):
    area = load_area(_square_geojson(tmp_path / 'a.geojson', task_id='T-042',
                                     hazard_id='CHA-7', organisation='NPA  Bosnia'))
    assert (area.task_id, area.hazard_id, area.organisation) == ('T-042', 'CHA-7', 'NPA Bosnia')
    path = tmp_path / 'fc.geojson'
    feature = json.loads((tmp_path / 'a.geojson').read_text())
    feature['properties'].pop('task_id')
    path.write_text(json.dumps({'type': 'FeatureCollection', 'task_id': 17,
                                'features': [feature]}))
    assert load_area(str(path)).task_id == '17'             # a foreign member of the document
    assert load_area(_square_geojson(tmp_path / 'b.geojson')).task_id == ''


def test_a_mine_action_id_that_is_not_text_is_refused(tmp_path):
    with pytest.raises(WorldError, match='task_id must be text'):
        load_area(_square_geojson(tmp_path / 'a.geojson', task_id={'id': 1}))


def test_mine_action_ids_from_a_world_file(tmp_path):
    from demining_bringup.contract.sdf import load_world, write_world
    import dataclasses
    world = dataclasses.replace(load_world(find_world('training_field')), task_id='T-042',
                                hazard_id='CHA-7', organisation='NPA')
    path = write_world(world, tmp_path / 'w.sdf')
    assert '<demining:task_id>T-042</demining:task_id>' in open(path).read()
    area = load_area(str(path))
    assert (area.task_id, area.hazard_id, area.organisation) == ('T-042', 'CHA-7', 'NPA')
    assert load_world(str(path)) == world


def test_a_worlds_surveyed_obstacles_are_exclusion_zones_of_its_area():
    # rugged_terrain: the lanes ran the hull into a 0.5 m tree trunk the planner did not know
    # of; the tracks spun against it until the slip stop ended the mission at 25 %.
    from shapely.geometry import Point, Polygon as ShapelyPolygon
    from demining_bringup.contract.sdf import load_world
    path = find_world('rugged_terrain')
    world, area = load_world(path), load_area(path)
    assert len(area.exclusion_zones) == len(world.exclusion_zones) + len(world.obstacles)
    zones = [ShapelyPolygon(z) for z in area.exclusion_zones]
    for o in world.obstacles:
        trunk = Point(o.x, o.y).buffer(0.99 * o.radius if o.shape == 'cylinder' else 0.01)
        assert any(z.contains(trunk) for z in zones), o
    assert area.area_m2 < ShapelyPolygon(area.field).area
