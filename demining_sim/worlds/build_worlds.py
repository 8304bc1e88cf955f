"""Rebuild the shipped world files: ``python -m demining_sim.worlds.build_worlds [OUT_DIR]``.

The SDF files in this folder are the source of truth (edit them by hand if you like); this
script is how they were made, so a change to the format or the vehicle model can be rolled out
to every world at once. Output is deterministic (fixed seeds).
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from typing import List

import numpy as np

from demining_sim.generator import generate_world, make_item, soil_preset
from demining_bringup.contract.sdf import write_world
from demining_bringup.contract.world import GeoOrigin, Obstacle, Terrain, World

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_RUGGED_SLOPE_DEG = 20.0


def training_field() -> World:
    """30 x 20 m flat loam field, 5 AP mines, 7 metal clutter items (the default world)."""
    items = [
        make_item('PMN', 'ap_pmn_1', 6.0, 5.0, 0.05),
        make_item('PMN-2', 'ap_pmn2_1', 14.5, 12.0, 0.08),
        make_item('PMA-1', 'ap_pma1_1', 22.0, 6.5, 0.03),
        make_item('TS-50', 'ap_ts50_1', 25.5, 15.5, 0.12),
        make_item('PMN', 'ap_pmn_2', 9.0, 16.0, 0.10),
        make_item('shrapnel', 'clutter_shrapnel_1', 4.2, 11.3, 0.02, metal_mass=0.012),
        make_item('can', 'clutter_can_1', 11.8, 3.6, 0.04),
        make_item('wire', 'clutter_wire_1', 18.3, 8.9, 0.03),
        make_item('cartridge', 'clutter_cartridge_1', 20.5, 17.2, 0.05),
        make_item('shrapnel', 'clutter_shrapnel_2', 27.1, 3.3, 0.06, metal_mass=0.045),
        make_item('nail', 'clutter_nail_1', 16.0, 15.2, 0.02),
        make_item('shrapnel', 'clutter_shrapnel_3', 2.8, 2.6, 0.01, metal_mass=0.003),
    ]
    return World(
        name='training_field',
        description='Training field: 30 x 20 m flat loam, 5 AP mines, 7 metal clutter items. '
                    'A test site: the ground round the field is cleared (a 10 m safe margin), '
                    'so the machine turns outside it. Origin near Brcko, Bosnia and '
                    'Herzegovina.',
        origin=GeoOrigin(44.8725, 18.8090, 95.0, 0.0),
        field=[(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)],
        approach_lane=[(-12.0, -0.5), (0.0, -0.5), (0.0, 2.5), (-12.0, 2.5)],
        # test lanes and training fields sit in cleared ground (e.g. CEN CWA 15044 test sites)
        safe_margin_m=10.0,
        soil=dataclasses.replace(soil_preset('loam'), rock_density_per_m2=0.0),
        items=items,
        vehicle_start=(-8.0, 1.0, 0.0))


def farmland_rows() -> World:
    """60 x 40 m farmland with a defensive belt of AP mines in rows and scattered clutter."""
    w = generate_world(
        [(0.0, 0.0), (60.0, 0.0), (60.0, 40.0), (0.0, 40.0)], seed=11,
        ap_per_100m2=1.875, clutter_per_m2=0.02, soil='loam', name='farmland_rows',
        origin=GeoOrigin(45.0340, 18.6890, 85.0, 0.0), min_spacing_m=1.5,
        pattern='rows', row_spacing_m=3.0, row_mine_spacing_m=4.0, edge_margin_m=1.5,
        ap_models=('PMA-2', 'PMN', 'PMN-2'),
        clutter_models=('shrapnel', 'can', 'wire', 'cartridge', 'nail'))
    w.description = ('Farmland in the Posavina corridor (Bosnia and Herzegovina): 60 x 40 m '
                     'flat loam, 45 AP mines laid in a belt of rows 3 m apart, 4 m apart on a '
                     'row, and agricultural metal clutter.')
    return w


def mixed_field() -> World:
    """Mixed AP/AT field with 82 mm mortar UXO, heavy clutter and anti-handling AP mines."""
    w = generate_world(
        [(0.0, 0.0), (50.0, 0.0), (50.0, 40.0), (0.0, 40.0)], seed=23,
        ap_per_100m2=0.6, at_per_100m2=0.2, uxo_per_100m2=0.15, clutter_per_m2=0.1,
        soil='dry_sand', name='mixed_field',
        origin=GeoOrigin(-15.1640, 19.1720, 1330.0, 0.0), min_spacing_m=3.0,
        clutter_spacing_m=0.3, edge_margin_m=2.0,
        clutter_models=('shrapnel', 'shrapnel', 'can', 'wire', 'cartridge', 'rock'))
    # Anti-handling: an AP mine 0.8 m beside each AT mine (FM 20-32, docs/sources.md).
    extra: List = []
    rng = np.random.default_rng(29)
    for k, at in enumerate(w.items_of_kind('AT')):
        angle = float(rng.uniform(0.0, 2.0 * math.pi))
        extra.append(make_item('PMN-2', f'ap_antihandling_{k + 1:03d}',
                               round(at.x + 0.8 * math.cos(angle), 3),
                               round(at.y + 0.8 * math.sin(angle), 3),
                               round(float(rng.uniform(0.03, 0.08)), 3)))
    # Anti-handling mines sit within clutter spacing of some clutter: drop that clutter.
    w.items = [it for it in w.items
               if it.is_hazard or all(math.hypot(it.x - e.x, it.y - e.y) > 0.5 for e in extra)]
    w.items = extra + w.items
    # Rocks and roots beyond the modelled ones, for the GPR model (docs/sources.md: GPR clutter).
    w.soil.rock_density_per_m2 = 0.5
    w.description = ('Mixed field near Cuito Cuanavale, Angola: 50 x 40 m dry sand, AP and AT '
                     'mines with AP anti-handling mines beside each AT mine, 82 mm mortar UXO '
                     'and heavy metal clutter plus rocks.')
    return w


def _rugged_heights(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Hillside rising north-east, a hill, and a drainage ditch across the field."""
    z = 0.06 * x + 0.04 * y
    z = z + 2.5 * np.exp(-((x - 38.0) ** 2 + (y - 33.0) ** 2) / (2.0 * 9.0 ** 2))
    z = z + 1.5 * np.exp(-((x + 5.0) ** 2 + (y - 55.0) ** 2) / (2.0 * 14.0 ** 2))
    # Ditch along y = 14 + 0.15 x: 0.6 m deep, 6 m wide, smooth (cosine) profile.
    d = (y - 14.0 - 0.15 * x) / math.hypot(1.0, 0.15)
    z = z - 0.6 * np.where(np.abs(d) < 3.0, 0.5 * (1.0 + np.cos(np.pi * d / 3.0)), 0.0)
    return z


def rugged_terrain() -> World:
    """Heightmap terrain (slopes <= 20 deg), a ditch, trees and rocks, a few mines."""
    n, res = 129, 1.0
    # Centred on the field centre (25, 20): see docs/worlds.md on Gazebo's 1/N spacing.
    ox, oy = -39.0, -44.0
    jj, ii = np.meshgrid(np.arange(n), np.arange(n))
    raw = Terrain(heights=_rugged_heights(ox + jj * res, oy + ii * res), origin_x=ox,
                  origin_y=oy, resolution=res)
    # Scale the relief so the steepest cell is just under the 20 deg design limit.
    steepest = float(np.max(raw.slope_deg_at(ox + jj * res + 0.5, oy + ii * res + 0.5)))
    scale = math.tan(math.radians(MAX_RUGGED_SLOPE_DEG - 0.5)) / math.tan(math.radians(steepest))
    terrain = dataclasses.replace(raw, heights=np.round(raw.heights * min(scale, 1.0), 3))
    slope = float(np.max(terrain.slope_deg_at(ox + jj * res + 0.5, oy + ii * res + 0.5)))
    if slope > MAX_RUGGED_SLOPE_DEG:
        raise RuntimeError(f'rugged terrain slope {slope:.1f} deg > {MAX_RUGGED_SLOPE_DEG}')
    items = [
        make_item('PMN', 'ap_pmn_1', 8.0, 6.0, 0.06),
        make_item('PMN-2', 'ap_pmn2_1', 21.0, 18.5, 0.09),      # on the ditch bank
        make_item('PMA-2', 'ap_pma2_1', 33.0, 9.0, 0.04),
        make_item('PMN', 'ap_pmn_2', 40.0, 27.0, 0.11),          # on the hill
        make_item('VS-50', 'ap_vs50_1', 14.0, 33.0, 0.05),
        make_item('TM-62M', 'at_tm62m_1', 26.0, 31.0, 0.2),
        make_item('shrapnel', 'clutter_shrapnel_1', 11.5, 22.0, 0.03),
        make_item('can', 'clutter_can_1', 44.0, 14.0, 0.05),
        make_item('cartridge', 'clutter_cartridge_1', 30.0, 36.0, 0.04),
        make_item('rock', 'clutter_rock_1', 18.0, 5.0, 0.12),
    ]
    obstacles = [
        Obstacle('tree_1', 16.0, 12.0, 0.3, 8.0, 'tree'),
        Obstacle('tree_2', 36.5, 35.0, 0.35, 9.0, 'tree'),
        Obstacle('tree_3', 46.0, 22.0, 0.25, 7.0, 'tree'),
        Obstacle('tree_4', 55.0, 8.0, 0.4, 10.0, 'tree'),       # outside the field
        Obstacle('rock_1', 28.0, 5.5, 0.7, 1.1, 'rock'),
        Obstacle('rock_2', 6.0, 28.0, 0.9, 1.4, 'rock'),
        Obstacle('boulder_1', 44.0, 34.0, 0.0, 1.6, 'rock', 'box', 2.2, 1.4, 0.6),
    ]
    obstacles[-1].radius = 0.5 * math.hypot(2.2, 1.4)
    return World(
        name='rugged_terrain',
        description='Hillside east of Sarajevo, Bosnia and Herzegovina: 50 x 40 m field on a '
                    'heightmap (slopes up to 20 deg), a drainage ditch, trees and rocks, '
                    'a few AP mines and one TM-62M.',
        origin=GeoOrigin(43.8610, 18.4750, 560.0, 0.0),
        field=[(0.0, 0.0), (50.0, 0.0), (50.0, 40.0), (0.0, 40.0)],
        soil=dataclasses.replace(soil_preset('loam'), rock_density_per_m2=0.3),
        terrain=terrain, items=items, obstacles=obstacles,
        vehicle_start=(-8.0, 1.0, 0.0))


def irregular_area() -> World:
    """Non-convex hazard polygon with exclusion zones (ruins, a road) and an approach lane."""
    field = [(0.0, 0.0), (45.0, 0.0), (45.0, 15.0), (30.0, 15.0), (30.0, 35.0),
             (10.0, 40.0), (0.0, 30.0)]
    road = [(-5.0, 5.0), (50.0, 8.0), (50.0, 11.5), (-5.0, 8.5)]
    ruins = [(8.0, 20.0), (17.0, 20.0), (17.0, 28.0), (8.0, 28.0)]
    w = generate_world(
        field, seed=37, ap_per_100m2=1.5, at_per_100m2=0.0, clutter_per_m2=0.08,
        soil='laterite', name='irregular_area',
        origin=GeoOrigin(13.0930, 103.2020, 12.0, 0.0), min_spacing_m=2.0,
        exclusion_zones=[ruins, road], edge_margin_m=1.0,
        ap_models=('PMN', 'PMN-2', 'PMA-2'))
    w.approach_lane = [(-15.0, 0.5), (0.0, 0.5), (0.0, 3.5), (-15.0, 3.5)]
    # The road is excluded from processing but safe to drive across (docs/worlds.md).
    w.safe_areas = [road]
    w.vehicle_start = (-10.0, 2.0, 0.0)
    w.obstacles = [
        Obstacle('ruin_wall_1', 12.5, 20.5, 0.5 * math.hypot(8.0, 0.5), 2.2, 'ruin', 'box',
                 8.0, 0.5, 0.0),
        Obstacle('ruin_wall_2', 8.5, 24.0, 0.5 * math.hypot(7.0, 0.5), 1.6, 'ruin', 'box',
                 7.0, 0.5, math.pi / 2.0),
        Obstacle('ruin_rubble_1', 14.0, 25.5, 1.2, 0.8, 'rubble'),
        Obstacle('tree_1', 38.0, 25.0, 0.4, 12.0, 'tree'),       # outside, in the notch
        Obstacle('tree_2', 3.0, 36.0, 0.35, 10.0, 'tree'),       # outside, north-west
    ]
    w.description = ('Irregular hazard area in Battambang province, Cambodia: non-convex '
                     'polygon on laterite (magnetic soil) with a ruined house and a road '
                     'excluded (the road safe to cross), and a safe approach lane from the '
                     'west.')
    return w


WORLDS = {
    'training_field': training_field,
    'farmland_rows': farmland_rows,
    'mixed_field': mixed_field,
    'rugged_terrain': rugged_terrain,
    'irregular_area': irregular_area,
}


def main(argv=None) -> int:
    """Write every world to OUT_DIR (default: this folder); print the paths."""
    argv = sys.argv[1:] if argv is None else argv
    out = argv[0] if argv else HERE
    for name, build in WORLDS.items():
        print(write_world(build(), os.path.join(out, f'{name}.sdf')))
    return 0


if __name__ == '__main__':
    sys.exit(main())
