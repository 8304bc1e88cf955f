"""The shipped worlds: contents match their description, and Gazebo's parser accepts them."""

import glob
import itertools
import math
import os
import shutil
import subprocess

import numpy as np
import pytest
import shapely

from demining_bringup.contract.sdf import load_world

WORLDS_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..',
                                           'demining_sim', 'worlds'))
WORLD_FILES = sorted(glob.glob(os.path.join(WORLDS_DIR, '*.sdf')))
NAMES = [os.path.splitext(os.path.basename(p))[0] for p in WORLD_FILES]
IGN = shutil.which('ign')
IGN_TIMEOUT_S = 120


def world(name):
    return load_world(os.path.join(WORLDS_DIR, f'{name}.sdf'))


def test_all_five_worlds_are_shipped():
    assert set(NAMES) >= {'training_field', 'farmland_rows', 'mixed_field', 'rugged_terrain',
                          'irregular_area'}


@pytest.mark.parametrize('name', NAMES)
def test_common_invariants(name):
    w = world(name)
    assert w.name == name and w.description
    xs = np.array([i.x for i in w.items])
    ys = np.array([i.y for i in w.items])
    assert w.contains(xs, ys).all(), 'every item inside the field'
    assert not w.in_exclusion(xs, ys).any(), 'no item in an exclusion zone'
    for it in w.items:
        for ob in w.obstacles:
            assert not bool(ob.contains(it.x, it.y, margin=0.2)), (it.name, ob.name)
    x, y, _ = w.vehicle_start
    assert not w.contains(x, y), 'the vehicle starts outside the field'
    assert all(not bool(ob.contains(x, y, margin=4.0)) for ob in w.obstacles)
    assert -90 <= w.origin.latitude_deg <= 90 and w.origin.heading_deg == 0.0
    for it in w.items_of_kind('AP'):
        assert 0.0 <= it.depth <= 0.15 and it.explosive_mass > 0.0
    for it in w.items_of_kind('AT'):
        assert 0.10 <= it.depth <= 0.30 and it.explosive_mass > 5.0
    for it in w.items_of_kind('clutter'):
        assert it.explosive_mass == 0.0 and it.metal_mass <= 0.1


def test_training_field():
    w = world('training_field')
    assert w.field == [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
    assert w.terrain.is_flat and w.terrain.flat_height == 0.0
    assert w.soil.name == 'loam' and w.soil.permittivity == 9.0
    assert w.soil.conductivity == 0.01
    ap = w.items_of_kind('AP')
    clutter = w.items_of_kind('clutter')
    assert 4 <= len(ap) <= 5 and 6 <= len(clutter) <= 8
    assert not w.items_of_kind('AT') and not w.items_of_kind('UXO') and not w.obstacles
    assert {it.model for it in ap} >= {'PMN', 'PMN-2', 'PMA-1', 'TS-50'}
    for it in ap:
        assert 0.03 <= it.depth <= 0.12
        assert 2.0 <= it.x <= 28.0 and 2.0 <= it.y <= 18.0
    for a, b in itertools.combinations(ap, 2):
        assert math.hypot(a.x - b.x, a.y - b.y) >= 3.0
    for it in clutter:
        assert 0.001 <= it.metal_mass <= 0.1
    pmn = next(it for it in ap if it.model == 'PMN')
    assert (pmn.diameter, pmn.height, pmn.explosive_mass) == (0.112, 0.056, 0.24)
    assert next(it for it in ap if it.model == 'PMA-1').metal_mass < 0.001
    x, y, yaw = w.vehicle_start
    assert (x, y, yaw) == (-8.0, 1.0, 0.0)
    assert w.approach_lane is not None and bool(w.approach_lane and w.contains(0.0, 1.0))


def test_farmland_rows_mines_lie_in_rows():
    w = world('farmland_rows')
    assert w.field_area_m2() == pytest.approx(2400.0)
    ap = w.items_of_kind('AP')
    assert len(ap) >= 20 and len(w.items_of_kind('clutter')) >= 20
    assert not w.items_of_kind('AT')
    ys = np.sort([it.y for it in ap])
    gaps = np.diff(ys)
    row_gaps = gaps[gaps > 1.0]
    assert len(row_gaps) >= 1
    assert np.all((row_gaps >= 2.0) & (row_gaps <= 5.0)), 'rows a few metres apart'
    # Along a row, neighbours are 1-5 m apart.
    rows = np.split(np.array(sorted((it.y, it.x) for it in ap)), np.nonzero(gaps > 1.0)[0] + 1)
    for row in rows:
        d = np.diff(np.sort(row[:, 1]))
        assert np.all((d >= 1.0) & (d <= 5.0 + 0.5))


def test_mixed_field_has_at_uxo_anti_handling_and_heavy_clutter():
    w = world('mixed_field')
    at = w.items_of_kind('AT')
    uxo = w.items_of_kind('UXO')
    ap = w.items_of_kind('AP')
    assert at and uxo and ap
    assert {it.model for it in at} <= {'TM-62M', 'TM-62P'}
    assert any(it.metal_mass >= 1.0 for it in at), 'a metal-cased TM-62M'
    for it in uxo:
        assert it.model == 'mortar-82mm' and it.metal_mass == 2.5
    for a in at:
        assert min(math.hypot(a.x - p.x, a.y - p.y) for p in ap) <= 1.0, 'anti-handling AP'
    clutter = w.items_of_kind('clutter')
    assert len(clutter) / w.hazard_area_m2() >= 0.09
    assert {it.model for it in clutter} >= {'shrapnel', 'can', 'wire'}


def test_rugged_terrain_heightmap_slopes_ditch_obstacles():
    w = world('rugged_terrain')
    t = w.terrain
    assert not t.is_flat and t.heights.shape == (129, 129)
    xs, ys = np.meshgrid(np.linspace(0, 50, 201), np.linspace(0, 40, 161))
    slope = t.slope_deg_at(xs, ys)
    assert 15.0 <= slope.max() <= 20.0
    # The ditch: along x = 10 the profile has a local minimum around y = 15.5.
    prof_y = np.linspace(8.0, 24.0, 161)
    prof = t.height_at(np.full_like(prof_y, 10.0), prof_y)
    k = int(np.argmin(prof))
    assert 14.0 <= prof_y[k] <= 17.5
    # Without the ditch the hillside rises monotonically north; the ditch is ~0.4 m deep.
    assert prof[0] - prof[k] > 0.1 and prof[-1] - prof[k] > 0.1
    kinds = {ob.kind for ob in w.obstacles}
    assert {'tree', 'rock'} <= kinds
    assert any(w.contains(ob.x, ob.y) for ob in w.obstacles), 'obstacles inside the field'
    assert 3 <= len(w.hazards()) <= 10
    # Whole field and start pose lie on the heightmap.
    xmin, ymin, xmax, ymax = t.extent()
    assert xmin < -8.0 and ymin < 0.0 and xmax > 50.0 and ymax > 40.0


def test_irregular_area_non_convex_with_exclusions_and_lane():
    w = world('irregular_area')
    poly = w.field_polygon()
    assert poly.area < 0.95 * poly.convex_hull.area, 'non-convex'
    assert len(w.exclusion_zones) >= 2
    assert w.approach_lane is not None
    lane = shapely.Polygon(w.approach_lane)
    assert lane.intersects(poly) and lane.intersection(poly).area < 1e-6, 'lane ends at edge'
    x, y, _ = w.vehicle_start
    assert lane.covers(shapely.Point(x, y))
    assert any(ob.kind == 'ruin' and ob.shape == 'box' for ob in w.obstacles)
    assert w.soil.name == 'laterite' and w.soil.magnetic_susceptibility >= 1e-3
    assert len(w.items_of_kind('AP')) >= 5


@pytest.fixture(scope='module')
def ign_runs():
    """Start `ign sdf -k` on every world at once (2 cores; ~35 ms per model each)."""
    if IGN is None:
        pytest.skip('`ign` (sdformat command-line tools) is not on PATH')
    procs = {p: subprocess.Popen([IGN, 'sdf', '-k', p], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for p in WORLD_FILES}
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize('path', WORLD_FILES, ids=NAMES)
def test_ign_sdf_check_accepts_world(ign_runs, path):
    out, err = ign_runs[path].communicate(timeout=IGN_TIMEOUT_S)
    assert ign_runs[path].returncode == 0 and 'Valid' in out, out + err
