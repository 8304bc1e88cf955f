"""SDF loader and writer: round trips, heightmap convention, every error case."""

import math
import os
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from demining_bringup.contract import sdf
from demining_bringup.contract.sdf import load_world, write_world
from demining_bringup.contract.world import (
    BuriedItem, GeoOrigin, ItemKind, Obstacle, Terrain, World, WorldError)

WORLDS = os.path.join(os.path.dirname(__file__), '..', '..', 'demining_sim', 'worlds')
TRAINING = os.path.join(WORLDS, 'training_field.sdf')


def sample_world(**kw):
    base = dict(
        name='sample', origin=GeoOrigin(12.9, 102.9, 20.0),
        field=[(0.0, 0.0), (0.0, 12.0), (16.0, 12.0), (16.0, 0.0)],      # clockwise on purpose
        exclusion_zones=[[(2.0, 2.0), (4.0, 2.0), (4.0, 4.5)]],
        approach_lane=[(-6.0, 0.0), (0.0, 0.0), (0.0, 2.0), (-6.0, 2.0)],
        items=[BuriedItem('pmn_1', ItemKind.AP, 5.25, 6.125, 0.07, 0.112, 0.056, 0.004, 0.24,
                          3.0, 'PMN'),
               BuriedItem('scrap_1', ItemKind.CLUTTER, 9.1, 3.3, 0.0, 0.04, 0.01, 0.02, 0.0,
                          80.0, 'shrapnel')],
        obstacles=[Obstacle('tree_1', 20.0, 3.0, 0.3, 8.0, 'tree'),
                   Obstacle('wall_1', 8.0, 10.0, 2.02, 2.0, 'ruin', 'box', 4.0, 0.3, 0.4)],
        vehicle_start=(-4.0, 1.0, 0.3), description='a test world')
    base.update(kw)
    return World(**base)


def test_round_trip_flat_world(tmp_path):
    w = sample_world()
    path = write_world(w, tmp_path / 'sample.sdf')
    back = load_world(path)
    assert back == w                          # field oriented CCW by both
    assert back.source == os.path.abspath(path)
    assert back.field[0] == (0.0, 0.0) and back.field[1] == (16.0, 0.0)   # CCW
    assert back.item('pmn_1').model == 'PMN'
    assert back.obstacles[1].shape == 'box' and back.obstacles[1].yaw == pytest.approx(0.4)
    # Writing the loaded world again gives byte-identical text.
    text1 = open(path).read()
    write_world(back, tmp_path / 'sample.sdf')
    assert open(path).read() == text1


def test_item_pose_z_is_surface_minus_depth(tmp_path):
    path = write_world(sample_world(), tmp_path / 'w.sdf')
    root = ET.parse(path).getroot()
    model = root.find("world/model[@name='pmn_1']")
    x, y, z = [float(v) for v in model.findtext('pose').split()[:3]]
    assert (x, y, z) == (5.25, 6.125, -0.07)
    assert model.find(f'{{{sdf.NS}}}item/{{{sdf.NS}}}kind').text == 'AP'


def synthetic_terrain(n=33, res=0.5, ox=-3.0, oy=-5.0):
    jj, ii = np.meshgrid(np.arange(n), np.arange(n))
    x = ox + jj * res
    y = oy + ii * res
    return Terrain(heights=0.1 * x + 0.05 * y + 0.8 * np.sin(x / 3.0) + 2.0, origin_x=ox,
                   origin_y=oy, resolution=res)


def test_round_trip_heightmap_world(tmp_path):
    t = synthetic_terrain()
    w = sample_world(terrain=t)
    path = write_world(w, tmp_path / 'hm.sdf')
    png = tmp_path / 'hm_heightmap.png'
    assert png.exists()
    img = Image.open(png)
    assert img.size == (33, 33) and img.mode.startswith('I;16')
    back = load_world(path)
    assert back == w
    np.testing.assert_allclose(back.terrain.heights, t.heights, atol=1e-4)
    # Buried item pose z follows the surface.
    model = ET.parse(path).getroot().find("world/model[@name='pmn_1']")
    z = float(model.findtext('pose').split()[2])
    assert z == pytest.approx(float(t.height_at(5.25, 6.125)) - 0.07, abs=1e-9)


def test_heightmap_orientation_matches_gazebo(tmp_path):
    # Gazebo: image row 0 is the north (+y) edge, column 0 the west (-x) edge, the brightest
    # pixel is <size> z above the model pose. One white pixel in the top-left corner must
    # appear at the north-west corner of the terrain.
    shutil.copy(TRAINING, tmp_path / 'w.sdf')
    text = (tmp_path / 'w.sdf').read_text()
    img = np.zeros((17, 17), dtype=np.uint16)
    img[0, 0] = 65535
    img[16, 16] = 32768
    Image.fromarray(img).save(tmp_path / 'hm.png')
    ground = text[text.index('<model name="ground_plane">'):]
    ground = ground[:ground.index('</model>') + len('</model>')]
    hm_model = ('<model name="terrain"><static>true</static><pose>10 20 1 0 0 0</pose>'
                '<link name="link"><collision name="collision"><geometry><heightmap>'
                '<uri>hm.png</uri><size>32 32 4</size><pos>0 0 0</pos></heightmap>'
                '</geometry></collision></link></model>')
    (tmp_path / 'w.sdf').write_text(text.replace(ground, hm_model))
    t = load_world(tmp_path / 'w.sdf').terrain
    assert t.resolution == pytest.approx(2.0)
    assert (t.origin_x, t.origin_y) == (-6.0, 4.0)
    assert float(t.height_at(-6.0, 36.0)) == pytest.approx(5.0)       # north-west: 1 + 4
    assert float(t.height_at(26.0, 4.0)) == pytest.approx(1.0 + 4.0 * 32768 / 65535, abs=1e-4)
    assert float(t.height_at(10.0, 20.0)) == pytest.approx(1.0)


def test_load_world_is_fast():
    import time
    t0 = time.perf_counter()
    w = load_world(TRAINING)
    assert time.perf_counter() - t0 < 0.5
    assert w.name == 'training_field'


# ---------------------------------------------------------------------------------------
# Error cases: each must be a WorldError naming the file and the problem.
# ---------------------------------------------------------------------------------------
def _training_text():
    with open(TRAINING) as f:
        return f.read()


def _replace(old, new, count=1):
    def mutate(text):
        assert old in text, old
        return text.replace(old, new, count)
    return mutate


def _drop_element(tag):
    def mutate(text):
        start = text.index(f'<{tag}')
        end = text.index(f'</{tag}>', start) + len(f'</{tag}>')
        return text[:start] + text[end:]
    return mutate


def _drop_model(name):
    def mutate(text):
        start = text.index(f'<model name="{name}">')
        end = text.index('</model>', start) + len('</model>')
        return text[:start] + text[end:]
    return mutate


FIELD = '<demining:field>0 0, 30 0, 30 20, 0 20</demining:field>'
DEPTH = '<demining:depth>0.05</demining:depth>'

ERROR_CASES = {
    'malformed_xml': (_replace('</world>', '</wrld>'), 'malformed XML'),
    'not_sdf': (lambda t: '<?xml version="1.0"?>\n<robot name="r"><link name="a"/></robot>',
                'not an SDF'),
    'no_world': (lambda t: '<sdf version="1.9"><model name="m"><link name="l"/></model></sdf>',
                 'exactly one <world>'),
    'no_spherical_coordinates': (_drop_element('spherical_coordinates'),
                                 'spherical_coordinates'),
    'no_area': (_drop_element('demining:area'), 'demining:area'),
    'field_two_points': (_replace(FIELD, '<demining:field>0 0, 30 0</demining:field>'),
                         'at least 3'),
    'field_bowtie': (_replace(FIELD, '<demining:field>0 0, 30 20, 30 0, 0 20</demining:field>'),
                     'self-intersecting'),
    'field_zero_area': (_replace(FIELD, '<demining:field>0 0, 10 0, 30 0</demining:field>'),
                        'zero area'),
    'field_odd_coordinates': (_replace(FIELD, '<demining:field>0 0, 30 0, 30</demining:field>'),
                              'odd number'),
    'field_nan': (_replace(FIELD, '<demining:field>0 0, 30 0, nan 20</demining:field>'),
                  'not finite'),
    'depth_nan': (_replace(DEPTH, '<demining:depth>NaN</demining:depth>'), 'not finite'),
    'depth_negative': (_replace(DEPTH, '<demining:depth>-0.05</demining:depth>'), 'depth'),
    'depth_text': (_replace(DEPTH, '<demining:depth>deep</demining:depth>'), 'bad number'),
    'diameter_negative': (_replace('<demining:diameter>0.112</demining:diameter>',
                                   '<demining:diameter>-0.1</demining:diameter>'), 'diameter'),
    'item_far_away': (_replace('<pose>6 5 -0.05 0 0 0</pose>', '<pose>6000 5 -0.05 0 0 0</pose>'),
                      'outside the field'),
    'item_too_deep': (_replace(DEPTH, '<demining:depth>12</demining:depth>'), 'depth'),
    'duplicate_names': (_replace('<model name="ap_pmn2_1">', '<model name="ap_pmn_1">'),
                        'duplicate'),
    'unknown_kind': (_replace('<demining:kind>AP</demining:kind>',
                              '<demining:kind>IED</demining:kind>'), 'unknown kind'),
    'unknown_element': (_replace(DEPTH, DEPTH + '<demining:fuze>MUV</demining:fuze>'),
                        'unknown element'),
    'no_vehicle': (_replace('<model name="vehicle">', '<model name="tractor">'), 'vehicle'),
    'heading': (_replace('<heading_deg>0</heading_deg>', '<heading_deg>15</heading_deg>'),
                'heading_deg'),
    'bad_pose': (_replace('<pose>6 5 -0.05 0 0 0</pose>', '<pose>6 5 -0.05</pose>'), 'pose'),
    'no_ground': (_drop_model('ground_plane'), 'no ground'),
    'permittivity_zero': (_replace('<demining:permittivity>9</demining:permittivity>',
                                   '<demining:permittivity>0</demining:permittivity>'),
                          'soil permittivity'),
}


@pytest.mark.parametrize('case', sorted(ERROR_CASES))
def test_error_cases_raise_world_error_naming_file(tmp_path, case):
    mutate, words = ERROR_CASES[case]
    path = tmp_path / f'{case}.sdf'
    path.write_text(mutate(_training_text()))
    with pytest.raises(WorldError) as info:
        load_world(path)
    message = str(info.value)
    assert '\n' not in message
    assert f'{case}.sdf' in message
    assert words.lower() in message.lower(), message


def test_missing_file(tmp_path):
    with pytest.raises(WorldError, match='no such file'):
        load_world(tmp_path / 'nope.sdf')


def test_directory_is_unreadable(tmp_path):
    with pytest.raises(WorldError, match='cannot read'):
        load_world(tmp_path)


def test_binary_garbage_is_malformed(tmp_path):
    p = tmp_path / 'garbage.sdf'
    p.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(WorldError, match='malformed XML'):
        load_world(p)


@pytest.mark.parametrize('shape, words', [((100, 100), r'2\^n\+1'), ((17, 33), 'square')])
def test_heightmap_image_must_be_gazebo_sized(tmp_path, shape, words):
    w = sample_world(terrain=synthetic_terrain(n=17))
    path = write_world(w, tmp_path / 'hm.sdf')
    Image.fromarray(np.zeros(shape, dtype=np.uint16)).save(tmp_path / 'hm_heightmap.png')
    with pytest.raises(WorldError, match=words):
        load_world(path)


def test_heightmap_image_missing(tmp_path):
    path = write_world(sample_world(terrain=synthetic_terrain(n=17)), tmp_path / 'hm.sdf')
    os.remove(tmp_path / 'hm_heightmap.png')
    with pytest.raises(WorldError, match='not found'):
        load_world(path)


def test_writer_rejects_grid_gazebo_cannot_load(tmp_path):
    t = Terrain(heights=np.zeros((10, 10)), resolution=1.0)
    with pytest.raises(WorldError, match='2\\^n\\+1'):
        write_world(sample_world(terrain=t), tmp_path / 'bad.sdf')


def test_writer_validates_the_world(tmp_path):
    w = sample_world(items=[BuriedItem('x', ItemKind.AP, 1.0, 1.0, float('nan'))])
    with pytest.raises(WorldError, match='depth'):
        write_world(w, tmp_path / 'bad.sdf')
    assert not (tmp_path / 'bad.sdf').exists()


def test_quaternion_and_degree_poses(tmp_path):
    text = _training_text().replace(
        '<pose>-8 1 0 0 0 0</pose>', '<pose degrees="true">-8 1 0 0 0 90</pose>')
    p = tmp_path / 'deg.sdf'
    p.write_text(text)
    assert load_world(p).vehicle_start[2] == pytest.approx(math.pi / 2)
    s = math.sin(math.pi / 8)
    text = _training_text().replace(
        '<pose>-8 1 0 0 0 0</pose>',
        f'<pose rotation_format="quat_xyzw">-8 1 0 0 0 {s} {math.cos(math.pi / 8)}</pose>')
    p.write_text(text)
    assert load_world(p).vehicle_start[2] == pytest.approx(math.pi / 4)
