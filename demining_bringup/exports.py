"""Exports of a clearance record for mine-action information systems: KML and GeoPackage.

IMSMA (the Information Management System for Mine Action, GICHD) and its successor IMSMA
Core import KML and OGC vector formats; the GeoJSON files of the report serve web GIS. Both
exports hold, in WGS84 (EPSG:4326, longitude then latitude):

* ``hazard_area``: the task's polygon with its task id, hazard id and organisation;
* ``exclusion_zones``: ground inside the area that was not to be processed;
* ``cleared_area``: the ground the machine processed (at the processing depth);
* ``no_go_zones``: the discs around detected AT mines and UXO the machine kept out of (the
  item's radius plus the no-go margin, as the planner and the supervisor drew them);
* ``detections``: the fused tracks (kind, confidence, depth);
* ``detonations``: the detonations and impacts the machine sensed.

KML follows OGC KML 2.2 (OGC 07-147r2), written with the standard library's XML writer; outer
rings counter-clockwise. The GeoPackage follows OGC GeoPackage 1.3.1 (OGC 12-128r18) with
the standard library's sqlite3: the ``application_id`` and ``user_version`` pragmas, the
``gpkg_spatial_ref_sys``, ``gpkg_contents`` and ``gpkg_geometry_columns`` tables (requirements
10-22, 29-32) and one feature table per layer whose geometries are GeoPackageBinary blobs (a
header with the SRS id and the envelope, then the geometry as little-endian WKB: requirement 19,
clause 2.1.3). No GDAL is needed to write either.

Both are written whole or not at all (temporary file, fsync, 0644, rename), like every report
file.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sqlite3
import struct
import tempfile
import xml.etree.ElementTree as ET
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from demining_bringup.contract.files import FILE_MODE, atomic_write
from demining_bringup.contract.geo import LocalCartesian

#: File names in a run folder.
KML_FILE = 'clearance.kml'
GPKG_FILE = 'clearance.gpkg'
#: The KML 2.2 namespace (OGC 07-147r2).
KML_NS = 'http://www.opengis.net/kml/2.2'
#: GeoPackage ``application_id`` ('GPKG' as a 32-bit big-endian integer; OGC 12-128r18 req. 2)
#: and ``user_version`` (1.3.1 as MMmmPP; req. 2).
GPKG_APPLICATION_ID = 0x47504B47
GPKG_USER_VERSION = 10301
#: The WGS84 geographic SRS (EPSG:4326) and its OGC WKT (the EPSG registry's definition).
WGS84_SRS_ID = 4326
_WGS84_WKT = ('GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
              'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
              'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,'
              'AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]]')
#: GeoPackageBinary flags: little-endian (bit 0) with a [minx, maxx, miny, maxy] envelope
#: (envelope indicator 1 in bits 1-3): OGC 12-128r18 clause 2.1.3.1.1.
_GPB_FLAGS = 0b0000_0011
_GPB_MAGIC = b'GP'
_GPB_VERSION = 0
_DECIMALS = 8                    # ~1 mm in latitude
#: KML colours (aabbggrr) of each layer.
_KML_STYLES = {'hazard_area': ('ff000000', '00000000'),
               'exclusion_zones': ('ff555555', '40555555'),
               'cleared_area': ('ff00aa00', '6000aa00'),
               'no_go_zones': ('ff0000ff', '800000ff')}


@dataclasses.dataclass
class Layer:
    """One layer: its geometry type and (geometry in map metres, attributes) features."""

    name: str
    geometry_type: str                       # POINT, POLYGON or MULTIPOLYGON
    description: str
    columns: Tuple[Tuple[str, str], ...]     # (name, SQL type: TEXT, REAL, INTEGER)
    features: List[Tuple[BaseGeometry, Dict[str, Any]]]


def _as_multipolygon(geom: BaseGeometry) -> Optional[MultiPolygon]:
    polys = ([geom] if isinstance(geom, Polygon) else
             [g for g in getattr(geom, 'geoms', []) if isinstance(g, Polygon)])
    polys = [orient(p, sign=1.0) for p in polys if not p.is_empty]
    return MultiPolygon(polys) if polys else None


def layers_of(record: Any, cleared: BaseGeometry,
              no_go: Sequence[Tuple[float, float, float]]) -> List[Layer]:
    """The export layers of a :class:`demining_bringup.report.MissionRecord` (map frame).

    ``cleared``: the processed ground (:func:`demining_bringup.report.cleared_polygon`);
    ``no_go``: the no-go discs (x, y, radius).
    """
    from demining_control.coverage.no_go import disc_polygon
    c = record.completion or {}
    ids = {'task_id': str(c.get('task_id', '')), 'hazard_id': str(c.get('hazard_id', '')),
           'organisation': str(c.get('organisation', ''))}
    field = orient(Polygon(record.field), sign=1.0)
    layers = [
        Layer('hazard_area', 'POLYGON', 'the hazard area of the task',
              (('name', 'TEXT'), ('task_id', 'TEXT'), ('hazard_id', 'TEXT'),
               ('organisation', 'TEXT'), ('area_m2', 'REAL'), ('outcome', 'TEXT'),
               ('start_utc', 'TEXT'), ('end_utc', 'TEXT')),
              [(field, {'name': record.world_name, **ids,
                        'area_m2': round(record.area_field_m2, 2), 'outcome': record.outcome,
                        'start_utc': str(c.get('start_utc', '')),
                        'end_utc': str(c.get('end_utc', ''))})]),
        Layer('exclusion_zones', 'POLYGON', 'ground of the area not to be processed',
              (('n', 'INTEGER'),),
              [(orient(Polygon(z), sign=1.0), {'n': k + 1})
               for k, z in enumerate(record.exclusion_zones)])]
    multi = _as_multipolygon(cleared)
    layers.append(Layer(
        'cleared_area', 'MULTIPOLYGON', 'ground processed by the machine (IMAS 09.50: '
        'mechanical processing alone is not clearance)',
        (('status', 'TEXT'), ('area_m2', 'REAL'), ('depth_m', 'REAL'), ('task_id', 'TEXT')),
        [(multi, {'status': 'processed', 'area_m2': round(multi.area, 2),
                  'depth_m': record.working_depth_m, 'task_id': ids['task_id']})]
        if multi is not None else []))
    layers.append(Layer(
        'no_go_zones', 'POLYGON', 'discs round detected AT mines and UXO, left for manual '
        'clearance', (('x', 'REAL'), ('y', 'REAL'), ('radius_m', 'REAL')),
        [(disc_polygon(x, y, r), {'x': round(x, 3), 'y': round(y, 3), 'radius_m': round(r, 3)})
         for x, y, r in no_go]))
    layers.append(Layer(
        'detections', 'POINT', 'tracks of the sensor fusion',
        (('track_id', 'INTEGER'), ('kind', 'TEXT'), ('confidence', 'REAL'), ('depth_m', 'REAL')),
        [(Point(d.x, d.y), {'track_id': int(d.id), 'kind': d.kind.name,
                            'confidence': round(float(d.confidence), 3),
                            'depth_m': round(float(d.depth), 3)})
         for d in record.detections if math.isfinite(d.x) and math.isfinite(d.y)]))
    layers.append(Layer(
        'detonations', 'POINT', 'detonations and impacts the machine sensed',
        (('event', 'TEXT'), ('stamp_s', 'REAL'), ('detail', 'TEXT')),
        [(Point(e.x, e.y), {'event': e.kind, 'stamp_s': round(float(e.stamp), 3),
                            'detail': e.detail})
         for e in record.events if math.isfinite(e.x) and math.isfinite(e.y)]))
    return layers


def _to_wgs84(lc: LocalCartesian):
    """A shapely transform from map metres to (lon, lat) degrees."""
    def fn(xy: np.ndarray) -> np.ndarray:
        lat, lon, _ = lc.to_geodetic(xy[:, 0], xy[:, 1], 0.0)
        return np.column_stack((np.atleast_1d(lon), np.atleast_1d(lat)))
    return lambda geom: shapely.transform(geom, fn)


# -- KML --------------------------------------------------------------------------------------

def _kml_coords(coords: Iterable[Sequence[float]]) -> str:
    return ' '.join(f'{x:.{_DECIMALS}f},{y:.{_DECIMALS}f},0' for x, y, *_ in coords)


def _kml_polygon(parent: ET.Element, poly: Polygon) -> None:
    el = ET.SubElement(parent, 'Polygon')
    ET.SubElement(el, 'tessellate').text = '1'
    outer = ET.SubElement(ET.SubElement(el, 'outerBoundaryIs'), 'LinearRing')
    ET.SubElement(outer, 'coordinates').text = _kml_coords(poly.exterior.coords)
    for ring in poly.interiors:
        inner = ET.SubElement(ET.SubElement(el, 'innerBoundaryIs'), 'LinearRing')
        ET.SubElement(inner, 'coordinates').text = _kml_coords(ring.coords)


def _kml_geometry(parent: ET.Element, geom: BaseGeometry) -> None:
    if isinstance(geom, Point):
        ET.SubElement(ET.SubElement(parent, 'Point'), 'coordinates').text = \
            _kml_coords([(geom.x, geom.y)])
    elif isinstance(geom, Polygon):
        _kml_polygon(parent, geom)
    else:
        multi = ET.SubElement(parent, 'MultiGeometry')
        for g in geom.geoms:
            _kml_polygon(multi, g)


def kml_document(layers: Sequence[Layer], lc: LocalCartesian, title: str) -> bytes:
    """The KML 2.2 document of ``layers`` (one Folder per layer, one Placemark per feature)."""
    root = ET.Element('kml', xmlns=KML_NS)     # children unqualified: in the KML namespace
    doc = ET.SubElement(root, 'Document')
    ET.SubElement(doc, 'name').text = title
    for name, (line, fill) in _KML_STYLES.items():
        style = ET.SubElement(doc, 'Style', id=name)
        ls = ET.SubElement(style, 'LineStyle')
        ET.SubElement(ls, 'color').text = line
        ET.SubElement(ls, 'width').text = '2'
        ET.SubElement(ET.SubElement(style, 'PolyStyle'), 'color').text = fill
    to_wgs84 = _to_wgs84(lc)
    for layer in layers:
        folder = ET.SubElement(doc, 'Folder')
        ET.SubElement(folder, 'name').text = layer.name
        ET.SubElement(folder, 'description').text = layer.description
        for k, (geom, attrs) in enumerate(layer.features, start=1):
            pm = ET.SubElement(folder, 'Placemark')
            label = attrs.get('kind') or attrs.get('event') or attrs.get('name') or ''
            ET.SubElement(pm, 'name').text = f'{layer.name} {k}' + (f': {label}' if label
                                                                    else '')
            if layer.name in _KML_STYLES:
                ET.SubElement(pm, 'styleUrl').text = f'#{layer.name}'
            data = ET.SubElement(pm, 'ExtendedData')
            for key, value in attrs.items():
                d = ET.SubElement(data, 'Data', name=key)
                ET.SubElement(d, 'value').text = str(value)
            _kml_geometry(pm, to_wgs84(geom))
    ET.indent(root)
    return ET.tostring(root, encoding='utf-8', xml_declaration=True)


# -- GeoPackage -------------------------------------------------------------------------------

def gpkg_geometry(geom: BaseGeometry, srs_id: int = WGS84_SRS_ID) -> bytes:
    """A GeoPackageBinary blob: header (magic, version, flags, SRS id, envelope) + WKB."""
    minx, miny, maxx, maxy = geom.bounds
    header = struct.pack('<2sBBi4d', _GPB_MAGIC, _GPB_VERSION, _GPB_FLAGS, srs_id,
                         minx, maxx, miny, maxy)
    return header + geom.wkb                  # shapely: little-endian ISO WKB, 2-D


def parse_gpkg_geometry(blob: bytes) -> Tuple[int, Tuple[float, float, float, float], bytes]:
    """(SRS id, envelope (minx, maxx, miny, maxy), WKB) of a GeoPackageBinary blob.

    :raises ValueError: when the blob is not GeoPackageBinary with a type-1 envelope.
    """
    magic, version, flags, srs_id, *env = struct.unpack_from('<2sBBi4d', blob)
    if magic != _GPB_MAGIC or version != _GPB_VERSION or (flags >> 1) & 0b111 != 1:
        raise ValueError('not a GeoPackageBinary geometry with an [x, y] envelope')
    return srs_id, tuple(env), blob[struct.calcsize('<2sBBi4d'):]


_GPKG_SCHEMA = """
CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
    organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
    definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
    identifier TEXT UNIQUE, description TEXT DEFAULT '',
    last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
    CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
    geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL,
    m TINYINT NOT NULL,
    CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
    CONSTRAINT uk_gc_table_name UNIQUE (table_name),
    CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
    CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
"""

#: The three rows every GeoPackage's gpkg_spatial_ref_sys holds (OGC 12-128r18 req. 11).
_SRS_ROWS = (
    ('WGS 84 geodetic', WGS84_SRS_ID, 'EPSG', 4326, _WGS84_WKT,
     'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid'),
    ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined',
     'undefined cartesian coordinate reference system'),
    ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined',
     'undefined geographic coordinate reference system'))


def write_gpkg(path: str, layers: Sequence[Layer], lc: LocalCartesian) -> None:
    """Write ``layers`` as one GeoPackage at ``path`` (whole: temp file, fsync, rename)."""
    folder = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.' + os.path.basename(path), suffix='.tmp')
    os.close(fd)
    try:
        con = sqlite3.connect(tmp)
        try:
            con.execute(f'PRAGMA application_id = {GPKG_APPLICATION_ID}')
            con.execute(f'PRAGMA user_version = {GPKG_USER_VERSION}')
            con.executescript(_GPKG_SCHEMA)
            con.executemany('INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)',
                            _SRS_ROWS)
            to_wgs84 = _to_wgs84(lc)
            for layer in layers:
                _write_layer(con, layer, [(to_wgs84(g), a) for g, a in layer.features])
            con.commit()
        finally:
            con.close()
        with open(tmp, 'rb+') as f:
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_layer(con: sqlite3.Connection, layer: Layer,
                 features: List[Tuple[BaseGeometry, Dict[str, Any]]]) -> None:
    cols = ', '.join(f'"{n}" {t}' for n, t in layer.columns)
    con.execute(f'CREATE TABLE "{layer.name}" (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
                f'geom {layer.geometry_type}, {cols})')
    bounds = [g.bounds for g, _ in features]
    env = ((min(b[0] for b in bounds), min(b[1] for b in bounds),
            max(b[2] for b in bounds), max(b[3] for b in bounds)) if bounds
           else (None, None, None, None))
    con.execute('INSERT INTO gpkg_contents (table_name, data_type, identifier, description, '
                'min_x, min_y, max_x, max_y, srs_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
                (layer.name, 'features', layer.name, layer.description, *env, WGS84_SRS_ID))
    con.execute('INSERT INTO gpkg_geometry_columns VALUES (?, ?, ?, ?, 0, 0)',
                (layer.name, 'geom', layer.geometry_type, WGS84_SRS_ID))
    names = ', '.join(f'"{n}"' for n, _ in layer.columns)
    marks = ', '.join('?' * (len(layer.columns) + 1))
    con.executemany(f'INSERT INTO "{layer.name}" (geom, {names}) VALUES ({marks})',
                    [(gpkg_geometry(g), *(a.get(n) for n, _ in layer.columns))
                     for g, a in features])


def write_exports(record: Any, run_dir: str, cleared: BaseGeometry,
                  no_go: Sequence[Tuple[float, float, float]]) -> List[str]:
    """Write ``clearance.kml`` and ``clearance.gpkg`` of ``record`` into ``run_dir``."""
    o = record.origin
    lc = LocalCartesian(o.latitude_deg, o.longitude_deg, o.elevation_m)
    layers = layers_of(record, cleared, no_go)
    c = record.completion or {}
    title = (f'{record.world_name}: task {c.get("task_id") or "n/a"}, hazard '
             f'{c.get("hazard_id") or "n/a"}, {record.outcome}')
    atomic_write(os.path.join(run_dir, KML_FILE), kml_document(layers, lc, title))
    write_gpkg(os.path.join(run_dir, GPKG_FILE), layers, lc)
    return [KML_FILE, GPKG_FILE]


__all__ = ['GPKG_APPLICATION_ID', 'GPKG_FILE', 'GPKG_USER_VERSION', 'KML_FILE', 'KML_NS',
           'Layer', 'WGS84_SRS_ID', 'gpkg_geometry', 'kml_document', 'layers_of',
           'parse_gpkg_geometry', 'write_exports', 'write_gpkg']
