"""Read and write minefield worlds as SDFormat 1.9 files that Gazebo Harmonic (gz-sim) loads.

The format is described in ``docs/worlds.md``. In short: ordinary SDF (systems, spherical
coordinates, ground plane or heightmap, the ``vehicle`` model, static obstacle models) plus
elements in the ``demining`` XML namespace that Gazebo copies through untouched and this module
reads: ``<demining:soil>`` and ``<demining:area>`` (world level or inside the ``hazard_area``
model), ``<demining:item>`` inside each buried item's model and ``<demining:obstacle>`` inside
obstacle models.

Parsing uses ``xml.etree`` (a world with a few hundred items loads in milliseconds). Every
problem is reported as one :class:`~demining_bringup.contract.world.WorldError` line naming
the file.
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Tuple

import numpy as np

from demining_bringup.contract.world import (
    BuriedItem, GeoOrigin, ItemKind, Obstacle, ObstacleShape, Polygon, Soil, Terrain, World,
    WorldError, validate_world)

NS = 'https://github.com/demining-ros/demining/sdf'
PREFIX = 'demining'
SDF_VERSION = '1.9'
VEHICLE_MODEL = 'vehicle'
AREA_MODEL = 'hazard_area'
GROUND_MODEL = 'ground_plane'
TERRAIN_MODEL = 'terrain'

# Gazebo's image heightmaps are square with 2^n + 1 pixels a side (ogre2 terrain, dartsim).
HEIGHTMAP_PIXEL_MAX = 65535          # 16-bit grey PNG: ~0.1 mm steps over a 6 m relief
GROUND_PLANE_SIZE_M = 1000.0
VEHICLE_SPAWN_CLEARANCE_M = 0.05     # drop the vehicle from just above the ground

ET.register_namespace(PREFIX, NS)


def _q(tag: str) -> str:
    """Qualified (Clark notation) name of a demining element."""
    return f'{{{NS}}}{tag}'


SOIL_FIELDS = {              # element -> Soil attribute
    'name': 'name',
    'permittivity': 'permittivity',
    'conductivity': 'conductivity',
    'magnetic_susceptibility': 'magnetic_susceptibility',
    'roughness': 'roughness_m',
    'rock_density': 'rock_density_per_m2',
}
ITEM_FIELDS = ('kind', 'model', 'depth', 'diameter', 'height', 'metal_mass', 'explosive_mass',
               'permittivity')
#: Mine-action ids of the area (one line of text each, for the completion report).
AREA_IDS = ('task_id', 'hazard_id', 'organisation')
AREA_FIELDS = ('field', 'exclusion', 'approach_lane', 'safe_area', 'safe_margin') + AREA_IDS
OBSTACLE_FIELDS = ('kind',)


# ======================================================================================
# Loading
# ======================================================================================
class _Reader:
    """One load: keeps the file name so every error names it."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, message: str) -> WorldError:
        return WorldError(f'{self.path}: {message}')

    # -- small parsers ------------------------------------------------------------------
    def number(self, text: Optional[str], what: str) -> float:
        if text is None or not text.strip():
            raise self.fail(f'{what} is empty')
        try:
            value = float(text.strip())
        except ValueError:
            raise self.fail(f'{what}: bad number {text.strip()!r}') from None
        if not math.isfinite(value):
            raise self.fail(f'{what}: not finite ({text.strip()})')
        return value

    def numbers(self, text: Optional[str], what: str) -> List[float]:
        parts = re.split(r'[\s,]+', (text or '').strip())
        parts = [p for p in parts if p]
        return [self.number(p, what) for p in parts]

    def child_number(self, elem: ET.Element, tag: str, what: str,
                     default: Optional[float] = None) -> float:
        child = elem.find(tag)
        if child is None:
            if default is None:
                raise self.fail(f'{what}: missing <{tag}>')
            return default
        return self.number(child.text, f'{what} <{tag}>')

    def polygon(self, elem: ET.Element, what: str) -> Polygon:
        values = self.numbers(elem.text, what)
        if len(values) % 2:
            raise self.fail(f'{what}: odd number of coordinates ({len(values)}), '
                            'expected x y pairs')
        return [(values[k], values[k + 1]) for k in range(0, len(values), 2)]

    def pose(self, elem: ET.Element, what: str) -> Tuple[float, float, float, float]:
        """(x, y, z, yaw) of an element's ``<pose>`` (identity when absent)."""
        pose = elem.find('pose')
        if pose is None:
            return 0.0, 0.0, 0.0, 0.0
        v = self.numbers(pose.text, f'{what} <pose>')
        if pose.get('rotation_format', 'euler_rpy') == 'quat_xyzw':
            if len(v) != 7:
                raise self.fail(f'{what} <pose>: quat_xyzw needs 7 numbers, got {len(v)}')
            qx, qy, qz, qw = v[3:]
            yaw = math.atan2(2.0 * (qw * qz + qx * qy), 1.0 - 2.0 * (qy * qy + qz * qz))
            return v[0], v[1], v[2], yaw
        if len(v) != 6:
            raise self.fail(f'{what} <pose>: expected 6 numbers, got {len(v)}')
        yaw = v[5]
        if pose.get('degrees', 'false').strip().lower() in ('true', '1'):
            yaw = math.radians(yaw)
        return v[0], v[1], v[2], yaw

    def check_children(self, elem: ET.Element, allowed, what: str) -> None:
        for child in elem:
            if not isinstance(child.tag, str):
                continue            # comments
            if not child.tag.startswith(f'{{{NS}}}'):
                raise self.fail(f'{what}: <{child.tag}> must be a demining: element')
            local = child.tag.split('}', 1)[1]
            if local not in allowed:
                raise self.fail(f'{what}: unknown element <demining:{local}> '
                                f'(known: {", ".join(allowed)})')

    # -- top level ------------------------------------------------------------------
    def read(self) -> World:
        if not os.path.exists(self.path):
            raise self.fail('no such file')
        try:
            root = ET.parse(self.path).getroot()
        except ET.ParseError as exc:
            if _looks_like_json(self.path):
                raise self.fail('a GeoJSON (JSON) file, not an SDF world: make a world from a '
                                'GeoJSON hazard area with `demine generate-world --geojson '
                                'AREA -o WORLD.sdf`') from None
            raise self.fail(f'malformed XML ({exc})') from None
        except (OSError, UnicodeError, ValueError) as exc:
            raise self.fail(f'cannot read ({exc})') from None
        if root.tag != 'sdf':
            raise self.fail(f'not an SDF file (root element <{root.tag}>, expected <sdf>)')
        worlds = root.findall('world')
        if len(worlds) != 1:
            raise self.fail(f'expected exactly one <world>, found {len(worlds)}')
        w = worlds[0]
        name = (w.get('name') or '').strip()
        if not name:
            raise self.fail('<world> has no name attribute')

        origin = self.origin(w)
        models = w.findall('model')
        seen: Dict[str, int] = {}
        for m in models:
            mname = m.get('name') or ''
            if not mname:
                raise self.fail('a <model> has no name attribute')
            seen[mname] = seen.get(mname, 0) + 1
        dups = sorted(n for n, c in seen.items() if c > 1)
        if dups:
            raise self.fail(f'duplicate model name(s): {", ".join(dups)}')
        self.check_world_children(w)

        soil = self.soil(w)
        terrain = self.terrain(w, models)
        field, exclusions, lane, safe_areas, safe_margin, ids = self.area(w, models)
        desc_el = w.find(_q('description'))
        description = ' '.join((desc_el.text or '').split()) if desc_el is not None else ''

        items: List[BuriedItem] = []
        obstacles: List[Obstacle] = []
        vehicle_start = None
        for m in models:
            mname = m.get('name')
            if mname == VEHICLE_MODEL:
                x, y, _, yaw = self.pose(m, f'model {mname!r}')
                vehicle_start = (x, y, yaw)
            elif m.find(_q('item')) is not None:
                items.append(self.item(m, terrain))
            elif m.find(_q('obstacle')) is not None:
                obstacles.append(self.obstacle(m))
            else:
                for tag in ('item', 'obstacle', 'soil'):
                    if m.find(f'.//{_q(tag)}') is not None:
                        raise self.fail(f'model {mname!r}: <demining:{tag}> must be a direct '
                                        'child of <model>')
        if vehicle_start is None:
            raise self.fail(f'no model named {VEHICLE_MODEL!r} (its pose is the start pose)')

        world = World(name=name, origin=origin, field=field, exclusion_zones=exclusions,
                      approach_lane=lane, safe_areas=safe_areas, safe_margin_m=safe_margin,
                      soil=soil, terrain=terrain, items=items,
                      obstacles=obstacles, vehicle_start=vehicle_start,
                      source=os.path.abspath(self.path), description=description, **ids)
        try:
            validate_world(world)
        except WorldError as exc:
            raise self.fail(str(exc)) from None
        return world

    def check_world_children(self, w: ET.Element) -> None:
        allowed = ('soil', 'area', 'description')
        for child in w:
            if isinstance(child.tag, str) and child.tag.startswith(f'{{{NS}}}'):
                local = child.tag.split('}', 1)[1]
                if local not in allowed:
                    raise self.fail(f'<world>: unknown element <demining:{local}> '
                                    f'(known at world level: {", ".join(allowed)})')

    def origin(self, w: ET.Element) -> GeoOrigin:
        sc = w.find('spherical_coordinates')
        if sc is None:
            raise self.fail('missing <spherical_coordinates> (the map-frame origin)')
        model = (sc.findtext('surface_model') or 'EARTH_WGS84').strip()
        if model != 'EARTH_WGS84':
            raise self.fail(f'<spherical_coordinates> surface_model {model!r}: '
                            'only EARTH_WGS84 is supported')
        frame = (sc.findtext('world_frame_orientation') or 'ENU').strip()
        if frame != 'ENU':
            raise self.fail(f'<spherical_coordinates> world_frame_orientation {frame!r}: '
                            'must be ENU')
        what = '<spherical_coordinates>'
        return GeoOrigin(latitude_deg=self.child_number(sc, 'latitude_deg', what),
                         longitude_deg=self.child_number(sc, 'longitude_deg', what),
                         elevation_m=self.child_number(sc, 'elevation', what, 0.0),
                         heading_deg=self.child_number(sc, 'heading_deg', what, 0.0))

    def soil(self, w: ET.Element) -> Soil:
        elems = w.findall(_q('soil'))
        if not elems:
            return Soil()
        if len(elems) > 1:
            raise self.fail('more than one <demining:soil>')
        el = elems[0]
        self.check_children(el, tuple(SOIL_FIELDS), '<demining:soil>')
        soil = Soil()
        for tag, attr in SOIL_FIELDS.items():
            child = el.find(_q(tag))
            if child is None:
                continue
            if attr == 'name':
                soil.name = (child.text or '').strip() or soil.name
            else:
                setattr(soil, attr, self.number(child.text, f'<demining:soil> <{tag}>'))
        return soil

    def area(self, w: ET.Element, models) -> Tuple[Polygon, List[Polygon], Optional[Polygon]]:
        areas = list(w.findall(_q('area')))
        for m in models:
            areas.extend(m.findall(_q('area')))
        if not areas:
            raise self.fail('missing <demining:area> (in the world or in model '
                            f'{AREA_MODEL!r}) with the field polygon')
        if len(areas) > 1:
            raise self.fail(f'{len(areas)} <demining:area> elements, expected one')
        area = areas[0]
        self.check_children(area, AREA_FIELDS, '<demining:area>')
        fields = area.findall(_q('field'))
        if len(fields) != 1:
            raise self.fail(f'<demining:area> needs exactly one <demining:field>, '
                            f'found {len(fields)}')
        field = self.polygon(fields[0], 'field polygon')
        exclusions = [self.polygon(e, f'exclusion zone {k + 1}')
                      for k, e in enumerate(area.findall(_q('exclusion')))]
        lanes = area.findall(_q('approach_lane'))
        if len(lanes) > 1:
            raise self.fail('more than one <demining:approach_lane>')
        lane = self.polygon(lanes[0], 'approach_lane polygon') if lanes else None
        safe_areas = [self.polygon(e, f'safe area {k + 1}')
                      for k, e in enumerate(area.findall(_q('safe_area')))]
        margins = area.findall(_q('safe_margin'))
        if len(margins) > 1:
            raise self.fail('more than one <demining:safe_margin>')
        safe_margin = (self.number(margins[0].text, '<demining:safe_margin>') if margins
                       else 0.0)
        ids = {}
        for tag in AREA_IDS:
            found = area.findall(_q(tag))
            if len(found) > 1:
                raise self.fail(f'more than one <demining:{tag}>')
            ids[tag] = ' '.join((found[0].text or '').split()) if found else ''
        return field, exclusions, lane, safe_areas, safe_margin, ids

    def item(self, m: ET.Element, terrain: Terrain) -> BuriedItem:
        mname = m.get('name')
        what = f'item {mname!r}'
        els = m.findall(_q('item'))
        if len(els) > 1:
            raise self.fail(f'{what}: more than one <demining:item>')
        el = els[0]
        self.check_children(el, ITEM_FIELDS, f'{what} <demining:item>')
        kind_text = (el.findtext(_q('kind')) or '').strip()
        if not kind_text:
            raise self.fail(f'{what}: missing <demining:kind>')
        try:
            kind = ItemKind(kind_text)
        except ValueError:
            raise self.fail(f'{what}: unknown kind {kind_text!r} '
                            f'(one of {", ".join(k.value for k in ItemKind)})') from None
        x, y, z, _ = self.pose(m, f'model {mname!r}')
        depth_el = el.find(_q('depth'))
        if depth_el is not None:
            depth = self.number(depth_el.text, f'{what} <demining:depth>')
        else:
            # No explicit depth: the pose z is the object's top, below the local surface.
            depth = float(terrain.height_at(x, y)) - z
        defaults = BuriedItem(name=mname, kind=kind, x=x, y=y, depth=depth)
        values = {}
        for tag in ('diameter', 'height', 'metal_mass', 'explosive_mass', 'permittivity'):
            child = el.find(_q(tag))
            values[tag] = (getattr(defaults, tag) if child is None
                           else self.number(child.text, f'{what} <demining:{tag}>'))
        model = (el.findtext(_q('model')) or '').strip()
        return BuriedItem(name=mname, kind=kind, x=x, y=y, depth=depth, model=model, **values)

    def obstacle(self, m: ET.Element) -> Obstacle:
        mname = m.get('name')
        what = f'obstacle {mname!r}'
        el = m.find(_q('obstacle'))
        self.check_children(el, OBSTACLE_FIELDS, f'{what} <demining:obstacle>')
        kind = (el.findtext(_q('kind')) or '').strip() or 'rock'
        x, y, _, yaw = self.pose(m, f'model {mname!r}')
        geom = m.find('link/collision/geometry')
        if geom is None:
            raise self.fail(f'{what}: needs a link/collision/geometry (cylinder or box)')
        cyl = geom.find('cylinder')
        box = geom.find('box')
        if cyl is not None:
            radius = self.child_number(cyl, 'radius', f'{what} <cylinder>')
            height = self.child_number(cyl, 'length', f'{what} <cylinder>')
            return Obstacle(name=mname, x=x, y=y, radius=radius, height=height, kind=kind)
        if box is not None:
            size = self.numbers(box.findtext('size'), f'{what} <box><size>')
            if len(size) != 3:
                raise self.fail(f'{what} <box><size>: expected 3 numbers, got {len(size)}')
            if min(size) <= 0.0:
                raise self.fail(f'{what} <box><size>: sizes must be positive')
            return Obstacle(name=mname, x=x, y=y, radius=0.5 * math.hypot(size[0], size[1]),
                            height=size[2], kind=kind, shape=ObstacleShape.BOX.value,
                            length=size[0], width=size[1], yaw=yaw)
        raise self.fail(f'{what}: collision geometry must be a cylinder or a box')

    def terrain(self, w: ET.Element, models) -> Terrain:
        heightmaps = []
        planes = []
        for m in models:
            hm = m.find('link/collision/geometry/heightmap')
            if hm is None:
                hm = m.find('link/visual/geometry/heightmap')
            if hm is not None:
                heightmaps.append((m, hm))
            elif m.find('link/collision/geometry/plane') is not None:
                planes.append(m)
        if len(heightmaps) > 1:
            raise self.fail('more than one heightmap model')
        if heightmaps:
            return self.heightmap(*heightmaps[0])
        if not planes:
            raise self.fail('no ground: expected a model with a <plane> or <heightmap> '
                            'collision')
        _, _, z, _ = self.pose(planes[0], f'model {planes[0].get("name")!r}')
        return Terrain(flat_height=z)

    def heightmap(self, m: ET.Element, hm: ET.Element) -> Terrain:
        what = f'model {m.get("name")!r} <heightmap>'
        uri = (hm.findtext('uri') or '').strip()
        if uri.startswith('file://'):
            uri = uri[len('file://'):]
        if not uri or '://' in uri:
            raise self.fail(f'{what}: <uri> {uri!r} must be a file path (relative to the '
                            'world file or absolute)')
        image_path = uri if os.path.isabs(uri) else os.path.join(
            os.path.dirname(os.path.abspath(self.path)), uri)
        size_text = hm.findtext('size')
        size = self.numbers(size_text, f'{what} <size>') if size_text else [1.0, 1.0, 1.0]
        pos_text = hm.findtext('pos')
        pos = self.numbers(pos_text, f'{what} <pos>') if pos_text else [0.0, 0.0, 0.0]
        if len(size) != 3 or len(pos) != 3:
            raise self.fail(f'{what}: <size> and <pos> need 3 numbers each')
        if size[0] <= 0.0 or size[1] <= 0.0 or size[2] < 0.0:
            raise self.fail(f'{what}: <size> must be positive (got {size})')
        if not math.isclose(size[0], size[1], rel_tol=1e-9):
            raise self.fail(f'{what}: <size> x and y must be equal (square cells), got '
                            f'{size[0]:g} x {size[1]:g}')
        # Offsets add up: model pose, link pose, collision/visual pose and <pos>.
        mx = my = mz = 0.0
        link = holder = None
        for candidate in m.findall('link'):
            for part in candidate.findall('collision') + candidate.findall('visual'):
                if part.find('geometry/heightmap') is hm:
                    link, holder = candidate, part
        for el in (m, link, holder):
            if el is None:
                continue
            x, y, z, yaw = self.pose(el, what)
            pose_el = el.find('pose')
            rot = self.numbers(pose_el.text, what)[3:6] if pose_el is not None else []
            if yaw != 0.0 or any(r != 0.0 for r in rot):
                raise self.fail(f'{what}: rotated heightmaps are not supported')
            mx, my, mz = mx + x, my + y, mz + z
        heights = read_heightmap_png(image_path, size[2], self.fail)
        n = heights.shape[0]
        resolution = size[0] / (n - 1)
        return Terrain(heights=heights + pos[2] + mz,
                       origin_x=mx + pos[0] - size[0] / 2.0,
                       origin_y=my + pos[1] - size[1] / 2.0,
                       resolution=resolution)


def read_heightmap_png(image_path: str, size_z: float, fail=WorldError) -> np.ndarray:
    """Heights (m, relative to ``<pos>`` z) of a Gazebo heightmap PNG, in Terrain layout.

    Gazebo (gz-common ImageHeightmap + gz-physics dartsim) uses the first (red/grey)
    channel, scales it so the brightest pixel is ``size_z`` and black is 0, puts image row 0
    at +y (north) and column 0 at -x (west). Terrain rows grow with y, hence the flip.
    """
    import matplotlib.image as mpimg   # imported lazily: only heightmap worlds need it
    try:
        img = np.asarray(mpimg.imread(image_path), dtype=float)
    except FileNotFoundError:
        raise fail(f'heightmap image {image_path} not found') from None
    except Exception as exc:          # noqa: B902 - any decoder error is a bad image
        raise fail(f'heightmap image {image_path} unreadable ({exc})') from None
    if img.ndim == 3:
        img = img[:, :, 0]
    rows, cols = img.shape
    if rows != cols or rows < 3 or (rows - 1) & (rows - 2):
        raise fail(f'heightmap image {os.path.basename(image_path)} is {cols}x{rows} px; '
                   'Gazebo needs a square image of 2^n+1 px (e.g. 129x129)')
    peak = float(img.max())
    scaled = img / peak * size_z if peak > 0.0 else np.zeros_like(img)
    return scaled[::-1, :].copy()


def _looks_like_json(path: str) -> bool:
    """Whether a file starts like JSON (a GeoJSON area given where a world is expected)."""
    try:
        with open(path, 'rb') as f:
            head = f.read(64).lstrip()
    except OSError:
        return False
    return head[:1] in (b'{', b'[')


def load_world(path) -> World:
    """Load a minefield world from an SDF file.

    Raises :class:`WorldError` (one line: file name and problem) for a missing or unreadable
    file, malformed XML, a non-SDF file, missing spherical coordinates, a missing or invalid
    field polygon, bad numbers, out-of-bound items or duplicate names. The returned field
    polygon is counter-clockwise.
    """
    return _Reader(os.fspath(path)).read()


# ======================================================================================
# Writing
# ======================================================================================
def _num(value: float) -> str:
    """Shortest text that reads back as the same float (exact round trip)."""
    v = float(value)
    if v == 0.0:
        return '0'
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _nums(*values: float) -> str:
    return ' '.join(_num(v) for v in values)


def _poly_text(points: Polygon) -> str:
    return ', '.join(f'{_num(x)} {_num(y)}' for x, y in points)


def _sub(parent: ET.Element, tag: str, text: Optional[str] = None, **attrib) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = text
    return el


SYSTEMS_XML = """
<systems>
  <plugin filename="gz-sim-physics-system" name="gz::sim::systems::Physics"/>
  <plugin filename="gz-sim-user-commands-system" name="gz::sim::systems::UserCommands"/>
  <plugin filename="gz-sim-scene-broadcaster-system" name="gz::sim::systems::SceneBroadcaster"/>
  <plugin filename="gz-sim-sensors-system" name="gz::sim::systems::Sensors">
    <render_engine>ogre2</render_engine>
  </plugin>
  <plugin filename="gz-sim-imu-system" name="gz::sim::systems::Imu"/>
  <plugin filename="gz-sim-navsat-system" name="gz::sim::systems::NavSat"/>
</systems>
"""

SCENE_XML = """
<scene_parts>
  <physics name="1ms" type="ignored">
    <max_step_size>0.001</max_step_size>
    <real_time_factor>1.0</real_time_factor>
  </physics>
  <gravity>0 0 -9.8</gravity>
  <scene>
    <ambient>0.6 0.6 0.6 1</ambient>
    <background>0.7 0.8 0.9 1</background>
    <shadows>true</shadows>
  </scene>
  <light type="directional" name="sun">
    <cast_shadows>true</cast_shadows>
    <pose>0 0 50 0 0 0</pose>
    <diffuse>0.9 0.9 0.85 1</diffuse>
    <specular>0.2 0.2 0.2 1</specular>
    <direction>-0.5 0.2 -0.9</direction>
  </light>
</scene_parts>
"""

# The tracked flail vehicle (a generic 10-20 t remote flail, docs/sources.md "Flail and tiller
# machines").
# base_link = model frame: centre of rotation between the tracks, at ground level.
# The tracks are driven as two wheel-like links by DiffDrive (track gauge 1.6 m); two
# frictionless skid spheres under the hull ends keep it level, as the track ends would.
# Tool centre 2.6 m and GPR/metal-detector boom 4.0 m ahead of base_link (shared parameters
# tool_offset_x_m and sensor_offset_x_m).
VEHICLE_XML = """
<model name="vehicle">
  <pose>{pose}</pose>
  <link name="chassis">
    <pose>-0.8 0 1.65 0 0 0</pose>
    <inertial>
      <mass>9000</mass>
      <inertia><ixx>5330</ixx><iyy>28700</iyy><izz>30630</izz>
        <ixy>0</ixy><ixz>0</ixz><iyz>0</iyz></inertia>
    </inertial>
    <collision name="hull">
      <geometry><box><size>6 2.2 1.5</size></box></geometry>
    </collision>
    <collision name="front_skid">
      <pose>2.6 0 -1.45 0 0 0</pose>
      <geometry><sphere><radius>0.2</radius></sphere></geometry>
      <surface><friction><ode><mu>0</mu><mu2>0</mu2></ode></friction></surface>
    </collision>
    <collision name="rear_skid">
      <pose>-2.0 0 -1.45 0 0 0</pose>
      <geometry><sphere><radius>0.2</radius></sphere></geometry>
      <surface><friction><ode><mu>0</mu><mu2>0</mu2></ode></friction></surface>
    </collision>
    <visual name="hull_visual">
      <geometry><box><size>6 2.2 1.5</size></box></geometry>
      <material><ambient>0.8 0.55 0.1 1</ambient><diffuse>0.9 0.6 0.1 1</diffuse></material>
    </visual>
    <visual name="left_track_belt">
      <pose>0.8 0.8 -1.2 0 0 0</pose>
      <geometry><box><size>4.6 0.35 0.9</size></box></geometry>
      <material><ambient>0.1 0.1 0.1 1</ambient><diffuse>0.15 0.15 0.15 1</diffuse></material>
    </visual>
    <visual name="right_track_belt">
      <pose>0.8 -0.8 -1.2 0 0 0</pose>
      <geometry><box><size>4.6 0.35 0.9</size></box></geometry>
      <material><ambient>0.1 0.1 0.1 1</ambient><diffuse>0.15 0.15 0.15 1</diffuse></material>
    </visual>
    <visual name="flail_arms">
      <pose>3.35 0 -1.0 0 0 0</pose>
      <geometry><box><size>1.5 2.1 0.15</size></box></geometry>
      <material><ambient>0.3 0.3 0.3 1</ambient><diffuse>0.4 0.4 0.4 1</diffuse></material>
    </visual>
    <visual name="sensor_boom">
      <pose>4.8 0 -1.5 0 0 0</pose>
      <geometry><box><size>0.3 3.2 0.1</size></box></geometry>
      <material><ambient>0.1 0.3 0.8 1</ambient><diffuse>0.1 0.3 0.9 1</diffuse></material>
    </visual>
    <sensor name="imu" type="imu">
      <pose>0.8 0 -0.65 0 0 0</pose>
      <always_on>true</always_on>
      <update_rate>10</update_rate>
      <topic>/imu/data</topic>
    </sensor>
    <sensor name="navsat" type="navsat">
      <pose>0.8 0 0.85 0 0 0</pose>
      <always_on>true</always_on>
      <update_rate>5</update_rate>
      <topic>/gnss/fix</topic>
    </sensor>
  </link>
  <link name="left_track">
    <pose>0 0.8 0.45 -1.5707963267948966 0 0</pose>
    <inertial>
      <mass>600</mass>
      <inertia><ixx>36.5</ixx><iyy>36.5</iyy><izz>60.8</izz>
        <ixy>0</ixy><ixz>0</ixz><iyz>0</iyz></inertia>
    </inertial>
    <collision name="collision">
      <geometry><cylinder><radius>0.45</radius><length>0.35</length></cylinder></geometry>
      <surface><friction><ode><mu>0.9</mu><mu2>0.9</mu2></ode></friction></surface>
    </collision>
    <visual name="visual">
      <geometry><cylinder><radius>0.45</radius><length>0.35</length></cylinder></geometry>
      <material><ambient>0.1 0.1 0.1 1</ambient><diffuse>0.2 0.2 0.2 1</diffuse></material>
    </visual>
  </link>
  <link name="right_track">
    <pose>0 -0.8 0.45 -1.5707963267948966 0 0</pose>
    <inertial>
      <mass>600</mass>
      <inertia><ixx>36.5</ixx><iyy>36.5</iyy><izz>60.8</izz>
        <ixy>0</ixy><ixz>0</ixz><iyz>0</iyz></inertia>
    </inertial>
    <collision name="collision">
      <geometry><cylinder><radius>0.45</radius><length>0.35</length></cylinder></geometry>
      <surface><friction><ode><mu>0.9</mu><mu2>0.9</mu2></ode></friction></surface>
    </collision>
    <visual name="visual">
      <geometry><cylinder><radius>0.45</radius><length>0.35</length></cylinder></geometry>
      <material><ambient>0.1 0.1 0.1 1</ambient><diffuse>0.2 0.2 0.2 1</diffuse></material>
    </visual>
  </link>
  <link name="flail">
    <pose>2.6 0 0.35 -1.5707963267948966 0 0</pose>
    <inertial>
      <mass>400</mass>
      <inertia><ixx>139</ixx><iyy>139</iyy><izz>12.5</izz>
        <ixy>0</ixy><ixz>0</ixz><iyz>0</iyz></inertia>
    </inertial>
    <visual name="rotor">
      <geometry><cylinder><radius>0.25</radius><length>2.0</length></cylinder></geometry>
      <material><ambient>0.5 0.5 0.5 1</ambient><diffuse>0.6 0.6 0.6 1</diffuse></material>
    </visual>
  </link>
  <joint name="left_track_joint" type="revolute">
    <parent>chassis</parent>
    <child>left_track</child>
    <axis><xyz>0 0 1</xyz>
      <limit><lower>-1e16</lower><upper>1e16</upper></limit></axis>
  </joint>
  <joint name="right_track_joint" type="revolute">
    <parent>chassis</parent>
    <child>right_track</child>
    <axis><xyz>0 0 1</xyz>
      <limit><lower>-1e16</lower><upper>1e16</upper></limit></axis>
  </joint>
  <joint name="flail_rotor" type="revolute">
    <parent>chassis</parent>
    <child>flail</child>
    <axis><xyz>0 0 1</xyz>
      <limit><lower>-1e16</lower><upper>1e16</upper></limit></axis>
  </joint>
  <plugin filename="gz-sim-diff-drive-system" name="gz::sim::systems::DiffDrive">
    <left_joint>left_track_joint</left_joint>
    <right_joint>right_track_joint</right_joint>
    <wheel_separation>1.6</wheel_separation>
    <wheel_radius>0.45</wheel_radius>
    <max_linear_velocity>1.4</max_linear_velocity>
    <max_linear_acceleration>0.5</max_linear_acceleration>
    <max_angular_velocity>0.5</max_angular_velocity>
    <topic>/cmd_vel</topic>
    <odom_topic>/odom/tracks</odom_topic>
    <frame_id>odom</frame_id>
    <child_frame_id>base_link</child_frame_id>
    <odom_publish_frequency>10</odom_publish_frequency>
  </plugin>
  <plugin filename="gz-sim-odometry-publisher-system"
          name="gz::sim::systems::OdometryPublisher">
    <odom_topic>/sim/ground_truth/odometry</odom_topic>
    <odom_frame>map</odom_frame>
    <robot_base_frame>base_link</robot_base_frame>
    <odom_publish_frequency>10</odom_publish_frequency>
    <dimensions>3</dimensions>
  </plugin>
  <plugin filename="gz-sim-joint-controller-system" name="gz::sim::systems::JointController">
    <joint_name>flail_rotor</joint_name>
  </plugin>
  <plugin filename="gz-sim-joint-state-publisher-system"
          name="gz::sim::systems::JointStatePublisher"/>
</model>
"""


def vehicle_element(x: float, y: float, z: float, yaw: float) -> ET.Element:
    """The inline tracked flail vehicle model, base_link at (x, y, z) heading ``yaw``."""
    return ET.fromstring(VEHICLE_XML.format(pose=_nums(x, y, z, 0.0, 0.0, yaw)))


def _material(parent: ET.Element, rgba: str) -> None:
    mat = _sub(parent, 'material')
    _sub(mat, 'ambient', rgba)
    _sub(mat, 'diffuse', rgba)


def _ground(world_el: ET.Element, world: World, sdf_path: str) -> None:
    t = world.terrain
    if t.heights is None:
        m = _sub(world_el, 'model', name=GROUND_MODEL)
        _sub(m, 'static', 'true')
        _sub(m, 'pose', _nums(0, 0, t.flat_height, 0, 0, 0))
        link = _sub(m, 'link', name='link')
        for tag in ('collision', 'visual'):
            part = _sub(link, tag, name=tag)
            plane = _sub(_sub(part, 'geometry'), 'plane')
            _sub(plane, 'normal', '0 0 1')
            _sub(plane, 'size', _nums(GROUND_PLANE_SIZE_M, GROUND_PLANE_SIZE_M))
            if tag == 'visual':
                _material(part, '0.45 0.38 0.25 1')
        return
    h = np.asarray(t.heights, dtype=float)
    n = h.shape[0]
    if h.shape[0] != h.shape[1] or n < 3 or (n - 1) & (n - 2):
        raise WorldError(f'{sdf_path}: heightmap grid is {h.shape[1]}x{h.shape[0]}; Gazebo '
                         'needs a square grid of 2^n+1 nodes (e.g. 129x129)')
    lo, hi = float(h.min()), float(h.max())
    relief = hi - lo
    grey = (np.zeros_like(h) if relief <= 0.0
            else np.rint((h - lo) / relief * HEIGHTMAP_PIXEL_MAX))
    image_name = os.path.splitext(os.path.basename(sdf_path))[0] + '_heightmap.png'
    image_path = os.path.join(os.path.dirname(os.path.abspath(sdf_path)), image_name)
    from PIL import Image   # matplotlib's own PNG backend; writes 16-bit grey losslessly
    Image.fromarray(grey[::-1, :].astype(np.uint16)).save(image_path)
    size = (n - 1) * t.resolution
    m = _sub(world_el, 'model', name=TERRAIN_MODEL)
    _sub(m, 'static', 'true')
    # gz-sim's physics ignores <pos> (only rendering applies it), so the model pose places
    # the heightmap and <pos> stays 0: both then agree.
    _sub(m, 'pose', _nums(t.origin_x + size / 2.0, t.origin_y + size / 2.0, lo, 0, 0, 0))
    link = _sub(m, 'link', name='link')
    for tag in ('collision', 'visual'):
        part = _sub(link, tag, name=tag)
        hm = _sub(_sub(part, 'geometry'), 'heightmap')
        _sub(hm, 'uri', image_name)
        _sub(hm, 'size', _nums(size, size, relief))
        _sub(hm, 'pos', '0 0 0')
        if tag == 'visual':
            _sub(hm, 'use_terrain_paging', 'false')


def _item_model(world_el: ET.Element, world: World, it: BuriedItem) -> None:
    m = _sub(world_el, 'model', name=it.name)
    _sub(m, 'static', 'true')
    top = float(world.terrain.height_at(it.x, it.y)) - it.depth
    _sub(m, 'pose', _nums(it.x, it.y, top, 0, 0, 0))
    el = _sub(m, _q('item'))
    _sub(el, _q('kind'), ItemKind(it.kind).value)
    if it.model:
        _sub(el, _q('model'), it.model)
    for tag in ('depth', 'diameter', 'height', 'metal_mass', 'explosive_mass', 'permittivity'):
        _sub(el, _q(tag), _num(getattr(it, tag)))
    link = _sub(m, 'link', name='body')
    # Visual only: buried objects must not collide with the vehicle or the ground.
    vis = _sub(link, 'visual', name='visual')
    _sub(vis, 'pose', _nums(0, 0, -it.height / 2.0, 0, 0, 0))
    cyl = _sub(_sub(vis, 'geometry'), 'cylinder')
    _sub(cyl, 'radius', _num(it.diameter / 2.0))
    _sub(cyl, 'length', _num(it.height))
    colour = {ItemKind.AP: '0.9 0.1 0.1 1', ItemKind.AT: '0.6 0 0.6 1',
              ItemKind.UXO: '0.9 0.5 0 1'}.get(ItemKind(it.kind), '0.5 0.5 0.5 1')
    _material(vis, colour)


def _obstacle_model(world_el: ET.Element, world: World, ob: Obstacle) -> None:
    m = _sub(world_el, 'model', name=ob.name)
    _sub(m, 'static', 'true')
    ground = float(world.terrain.height_at(ob.x, ob.y))
    yaw = ob.yaw if ob.shape == ObstacleShape.BOX.value else 0.0
    _sub(m, 'pose', _nums(ob.x, ob.y, ground, 0, 0, yaw))
    el = _sub(m, _q('obstacle'))
    _sub(el, _q('kind'), ob.kind)
    link = _sub(m, 'link', name='link')
    for tag in ('collision', 'visual'):
        part = _sub(link, tag, name=tag)
        _sub(part, 'pose', _nums(0, 0, ob.height / 2.0, 0, 0, 0))
        geom = _sub(part, 'geometry')
        if ob.shape == ObstacleShape.BOX.value:
            _sub(_sub(geom, 'box'), 'size', _nums(ob.length, ob.width, ob.height))
        else:
            cyl = _sub(geom, 'cylinder')
            _sub(cyl, 'radius', _num(ob.radius))
            _sub(cyl, 'length', _num(ob.height))
        if tag == 'visual':
            _material(part, {'tree': '0.2 0.45 0.15 1', 'rock': '0.5 0.5 0.48 1'}.get(
                ob.kind, '0.6 0.55 0.5 1'))


def _area_model(world_el: ET.Element, world: World) -> None:
    m = _sub(world_el, 'model', name=AREA_MODEL)
    _sub(m, 'static', 'true')
    area = _sub(m, _q('area'))
    _sub(area, _q('field'), _poly_text(world.field))
    for zone in world.exclusion_zones:
        _sub(area, _q('exclusion'), _poly_text(zone))
    if world.approach_lane is not None:
        _sub(area, _q('approach_lane'), _poly_text(world.approach_lane))
    for safe in world.safe_areas:
        _sub(area, _q('safe_area'), _poly_text(safe))
    if world.safe_margin_m:
        _sub(area, _q('safe_margin'), _num(world.safe_margin_m))
    for tag in AREA_IDS:
        if getattr(world, tag):
            _sub(area, _q(tag), getattr(world, tag))
    link = _sub(m, 'link', name='link')
    if world.terrain.heights is not None:
        return      # a flat outline would be buried in or float above the slopes
    # Thin painted outlines (visual only) so the field is visible in the Gazebo GUI.
    layers = [('field', world.field, '0.9 0.2 0.1 1', 0.002)]
    layers += [(f'exclusion_{k + 1}', z, '0.2 0.8 0.2 1', 0.004)
               for k, z in enumerate(world.exclusion_zones)]
    if world.approach_lane is not None:
        layers.append(('approach_lane', world.approach_lane, '0.9 0.9 0.9 1', 0.006))
    for name, poly, rgba, lift in layers:
        vis = _sub(link, 'visual', name=name)
        _sub(vis, 'pose', _nums(0, 0, world.terrain.flat_height + lift, 0, 0, 0))
        _sub(vis, 'transparency', '0.5')
        pl = _sub(_sub(vis, 'geometry'), 'polyline')
        for x, y in poly:
            _sub(pl, 'point', _nums(x, y))
        _sub(pl, 'height', '0.002')
        _material(vis, rgba)


def world_to_element(world: World, sdf_path: str = 'world.sdf') -> ET.Element:
    """Build the ``<sdf>`` element of ``world`` (writes the heightmap PNG if there is one)."""
    validate_world(world)
    root = ET.Element('sdf', version=SDF_VERSION)
    root.append(ET.Comment(' Minefield world for the demining stack; format: docs/worlds.md. '))
    w = _sub(root, 'world', name=world.name)
    if world.description:
        _sub(w, _q('description'), world.description)
    for part in ET.fromstring(SYSTEMS_XML):
        w.append(part)
    for part in ET.fromstring(SCENE_XML):
        w.append(part)
    sc = _sub(w, 'spherical_coordinates')
    _sub(sc, 'surface_model', 'EARTH_WGS84')
    _sub(sc, 'world_frame_orientation', 'ENU')
    _sub(sc, 'latitude_deg', _num(world.origin.latitude_deg))
    _sub(sc, 'longitude_deg', _num(world.origin.longitude_deg))
    _sub(sc, 'elevation', _num(world.origin.elevation_m))
    _sub(sc, 'heading_deg', _num(world.origin.heading_deg))
    s = world.soil
    soil = _sub(w, _q('soil'))
    _sub(soil, _q('name'), s.name)
    for tag, attr in SOIL_FIELDS.items():
        if attr != 'name':
            _sub(soil, _q(tag), _num(getattr(s, attr)))
    _ground(w, world, sdf_path)
    _area_model(w, world)
    vx, vy, vyaw = world.vehicle_start
    vz = float(world.terrain.height_at(vx, vy))
    if world.terrain.heights is not None:
        vz += VEHICLE_SPAWN_CLEARANCE_M
    w.append(vehicle_element(vx, vy, vz, vyaw))
    for ob in world.obstacles:
        _obstacle_model(w, world, ob)
    for it in world.items:
        _item_model(w, world, it)
    return root


def world_to_string(world: World, sdf_path: str = 'world.sdf') -> str:
    """The SDF text of ``world`` (pretty-printed, with the XML declaration)."""
    root = world_to_element(world, sdf_path)
    ET.indent(root, space='  ')
    return '<?xml version="1.0" ?>\n' + ET.tostring(root, encoding='unicode') + '\n'


def write_world(world: World, path) -> str:
    """Write ``world`` as a complete Gazebo-loadable SDF file; returns the path written.

    A heightmap terrain is written next to it as ``<stem>_heightmap.png`` (16-bit grey).
    ``load_world(write_world(w, p)) == w`` (heights within 1 mm).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    text = world_to_string(world, path)
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, path)
    return path
