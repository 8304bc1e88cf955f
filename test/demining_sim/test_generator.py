"""Seeded world generator: determinism, validity, counts, rows, errors and the CLI."""

import argparse
import itertools
import json
import math
import shutil
import subprocess

import numpy as np
import pytest
import shapely

from demining_sim.generator import (
    CATALOGUE, SOIL_PRESETS, add_arguments, generate_world, make_item, parse_polygon_text, run)
from demining_bringup.contract.world import GeoOrigin, ItemKind, WorldError
from demining_bringup.contract.sdf import load_world

L_FIELD = [(0, 0), (40, 0), (40, 15), (20, 15), (20, 30), (0, 30)]        # non-convex
ZONES = [[(5, 5), (12, 5), (12, 12), (5, 12)], [(25, 2), (32, 2), (32, 8)]]


def gen(**kw):
    args = dict(seed=7, ap_per_100m2=2.0, at_per_100m2=0.5, uxo_per_100m2=0.3,
                clutter_per_m2=0.3, min_spacing_m=2.0, exclusion_zones=ZONES)
    args.update(kw)
    return generate_world(L_FIELD, **args)


def test_same_seed_same_world_other_seed_different():
    assert gen() == gen()
    a, b = gen(), gen(seed=8)
    assert a != b
    assert [(i.x, i.y) for i in a.items] != [(i.x, i.y) for i in b.items]


def test_items_inside_field_outside_exclusions_and_spaced():
    w = gen()
    xs = np.array([i.x for i in w.items])
    ys = np.array([i.y for i in w.items])
    assert w.contains(xs, ys).all()
    assert not w.in_exclusion(xs, ys).any()
    hazards = w.hazards()
    for a, b in itertools.combinations(hazards, 2):
        assert math.hypot(a.x - b.x, a.y - b.y) >= 2.0 - 1e-3, (a.name, b.name)
    for a, b in itertools.combinations(w.items, 2):
        assert math.hypot(a.x - b.x, a.y - b.y) >= 0.25 - 1e-3
    # Edge margin (0.5 m default) from the field boundary.
    ring = w.field_polygon().exterior
    assert min(ring.distance(shapely.Point(i.x, i.y)) for i in w.items) >= 0.5 - 1e-3


def test_counts_follow_density_times_hazard_area():
    w = gen()
    area = w.hazard_area_m2()
    assert area == pytest.approx(40 * 15 + 20 * 15 - 49 - 21)
    counts = {k: len(w.items_of_kind(k)) for k in ItemKind}
    assert counts[ItemKind.AP] == round(0.02 * area)
    assert counts[ItemKind.AT] == round(0.005 * area)
    assert counts[ItemKind.UXO] == round(0.003 * area)
    assert counts[ItemKind.CLUTTER] == round(0.3 * area)


def test_item_properties_come_from_catalogue_and_depth_ranges():
    w = gen()
    for it in w.items:
        spec = CATALOGUE[it.model]
        assert spec.kind == it.kind
        assert (it.diameter, it.metal_mass, it.explosive_mass) == (
            spec.diameter, spec.metal_mass, spec.explosive_mass)
        lo, hi = spec.depth_range
        assert lo - 1e-9 <= it.depth <= hi + 1e-9
    ap = w.items_of_kind('AP')
    assert all(it.depth <= 0.15 for it in ap)
    assert all(0.10 <= it.depth <= 0.30 for it in w.items_of_kind('AT'))
    assert any(it.metal_mass < 0.001 for it in ap) or len(ap) < 5


def test_vehicle_starts_outside_field_facing_east():
    w = gen()
    x, y, yaw = w.vehicle_start
    assert not w.contains(x, y) and yaw == 0.0


def test_rows_pattern_puts_ap_mines_on_parallel_lines():
    field = [(0, 0), (60, 0), (60, 40), (0, 40)]
    w = generate_world(field, seed=3, ap_per_100m2=2.0, clutter_per_m2=0.0,
                       pattern='rows', row_spacing_m=4.0, row_mine_spacing_m=2.5)
    ys = np.sort([it.y for it in w.items_of_kind('AP')])
    assert len(ys) == 48
    # Rows run along x (the long axis): y values fall in tight clusters 4 m apart.
    gaps = np.diff(ys)
    big = gaps[gaps > 1.0]
    assert len(big) >= 1
    np.testing.assert_allclose(big, 4.0, atol=2 * 0.15 + 1e-6)
    assert np.all(gaps[gaps <= 1.0] <= 0.3 + 1e-6)


@pytest.mark.parametrize('soil', sorted(SOIL_PRESETS))
def test_soil_presets(soil):
    w = generate_world([(0, 0), (10, 0), (10, 10)], seed=1, soil=soil, clutter_per_m2=0.0)
    assert w.soil == SOIL_PRESETS[soil]
    assert w.soil is not SOIL_PRESETS[soil]


def test_soil_presets_match_sources():
    assert 3 <= SOIL_PRESETS['dry_sand'].permittivity <= 5
    assert 8 <= SOIL_PRESETS['loam'].permittivity <= 12
    assert 15 <= SOIL_PRESETS['wet_clay'].permittivity <= 25
    assert SOIL_PRESETS['laterite'].magnetic_susceptibility > 5 * SOIL_PRESETS[
        'loam'].magnetic_susceptibility


@pytest.mark.parametrize('kwargs, error, words', [
    (dict(field=[(0, 0), (1, 1)]), WorldError, 'at least 3'),
    (dict(field=[(0, 0), (10, 10), (10, 0), (0, 10)]), WorldError, 'self-intersecting'),
    (dict(ap_per_100m2=-1.0), ValueError, 'ap_per_100m2'),
    (dict(clutter_per_m2=float('nan')), ValueError, 'clutter_per_m2'),
    (dict(ap_per_100m2=80.0, min_spacing_m=3.0), ValueError, 'spacing'),
    (dict(soil='peat'), ValueError, 'unknown soil'),
    (dict(pattern='spiral'), ValueError, 'pattern'),
    (dict(exclusion_zones=[[(-1, -1), (41, -1), (41, 31), (-1, 31)]]), ValueError, 'no room'),
])
def test_invalid_inputs_raise_clear_errors(kwargs, error, words):
    field = kwargs.pop('field', L_FIELD)
    with pytest.raises(error, match=words):
        generate_world(field, seed=0, **kwargs)


def test_make_item_unknown_model():
    with pytest.raises(WorldError, match='unknown catalogue model'):
        make_item('XYZ-1', 'x', 0, 0, 0.1)


def test_generated_world_round_trips(tmp_path):
    from demining_bringup.contract.sdf import write_world
    w = gen(pattern='rows')
    assert load_world(write_world(w, tmp_path / 'g.sdf')) == w


# --- CLI ---------------------------------------------------------------------------------
def cli(argv):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run(parser.parse_args(argv))


def test_cli_polygon_writes_loadable_world(tmp_path, capsys):
    out = tmp_path / 'cli.sdf'
    rc = cli(['--polygon', '0,0 30,0 30,20 0,20', '--seed', '5', '--ap-density', '2',
              '--exclusion', '10,10 14,10 14,14 10,14', '--soil', 'wet_clay',
              '--origin', '13.1,103.2,12', '--name', 'cli_world', '-o', str(out)])
    assert rc == 0
    assert capsys.readouterr().out.strip() == str(out)
    w = load_world(out)
    assert w.name == 'cli_world' and w.soil.name == 'wet_clay'
    assert len(w.items_of_kind('AP')) == round(0.02 * (600 - 16))
    assert w.exclusion_zones and w.origin == GeoOrigin(13.1, 103.2, 12.0, 0.0)


def test_cli_geojson_with_hole(tmp_path):
    from demining_bringup.contract.geo import LocalCartesian
    lc = LocalCartesian(44.87, 18.80, 0.0)

    def ring(pts):
        lat, lon, _ = lc.to_geodetic(np.array([p[0] for p in pts]),
                                     np.array([p[1] for p in pts]), 0.0)
        return [[float(a), float(b)] for a, b in zip(lon, lat)]
    outer = [(0, 0), (50, 0), (50, 30), (0, 30), (0, 0)]
    hole = [(10, 10), (10, 20), (20, 20), (20, 10), (10, 10)]
    doc = {'type': 'FeatureCollection', 'features': [{
        'type': 'Feature', 'properties': {},
        'geometry': {'type': 'Polygon', 'coordinates': [ring(outer), ring(hole)]}}]}
    gj = tmp_path / 'area.geojson'
    gj.write_text(json.dumps(doc))
    out = tmp_path / 'gj.sdf'
    assert cli(['--geojson', str(gj), '--seed', '1', '-o', str(out)]) == 0
    w = load_world(out)
    assert w.origin.latitude_deg == pytest.approx(44.87, abs=1e-7)
    assert w.field_area_m2() == pytest.approx(1500.0, rel=1e-3)
    assert len(w.exclusion_zones) == 1
    assert w.hazard_area_m2() == pytest.approx(1400.0, rel=1e-3)


@pytest.mark.parametrize('argv, words', [
    (['--polygon', '0,0 10,10'], 'at least 3'),
    (['--polygon', '0,0 10;0 10,10'], 'bad polygon vertex'),
    (['--polygon', '0,0 10,0 10,10', '--ap-density', '-3'], 'ap_per_100m2'),
    (['--polygon', '0,0 10,0 10,10', '--origin', 'north'], 'origin'),
])
def test_cli_errors_exit_2_with_one_line(tmp_path, capsys, argv, words):
    assert cli(argv + ['-o', str(tmp_path / 'x.sdf')]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and '\n' not in err


def test_parse_polygon_text():
    assert parse_polygon_text('0,0 1.5,0\n1.5,2') == [(0, 0), (1.5, 0), (1.5, 2)]


@pytest.mark.skipif(shutil.which('ign') is None, reason='`ign` (sdformat tools) not on PATH')
def test_generated_world_passes_ign_sdf_check(tmp_path):
    from demining_bringup.contract.sdf import write_world
    # Few items: `ign sdf -k` costs ~35 ms per model.
    path = write_world(gen(pattern='rows', clutter_per_m2=0.02), tmp_path / 'gen.sdf')
    res = subprocess.run(['ign', 'sdf', '-k', path], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0 and 'Valid' in res.stdout, res.stdout + res.stderr


def test_a_world_made_from_a_geojson_area_keeps_its_task_ids_and_flags_override(tmp_path):
    from demining_sim.generator import main
    area = tmp_path / 'task.geojson'
    area.write_text(json.dumps({
        'type': 'FeatureCollection', 'organisation': 'HALO',
        'features': [{'type': 'Feature', 'properties': {'task_id': 'T-9', 'hazard_id': 'CHA-1'},
                      'geometry': {'type': 'Polygon', 'coordinates': [[
                          [18.0, 44.0], [18.0003, 44.0], [18.0003, 44.0002], [18.0, 44.0002],
                          [18.0, 44.0]]]}}]}))
    assert main(['--geojson', str(area), '-o', str(tmp_path / 'a.sdf')]) == 0
    w = load_world(str(tmp_path / 'a.sdf'))
    assert (w.task_id, w.hazard_id, w.organisation) == ('T-9', 'CHA-1', 'HALO')
    assert main(['--geojson', str(area), '--hazard-id', 'CHA-2', '-o',
                 str(tmp_path / 'b.sdf')]) == 0
    assert load_world(str(tmp_path / 'b.sdf')).hazard_id == 'CHA-2'
    assert main(['--polygon', '0,0 20,0 20,10 0,10', '-o', str(tmp_path / 'c.sdf')]) == 0
    assert load_world(str(tmp_path / 'c.sdf')).task_id == ''
