"""Plan requests: what the coverage planner was asked, kept so any plan can be made again.

The planner node writes each request it plans as one JSON file when ``plan_requests_dir`` is
set (the stack sets the run folder: ``<run_dir>/plan_requests/plan_NNN.json``), and
``bench/coverage.py --replay FILE...`` plans it again offline and measures the plan against
allowed ground: a re-plan that misbehaved in a mission (a transit across the field's
unprocessed middle, a pivot where the tracks sweep it) is reproduced in a second, without the
mission (pure core: shapely and the standard library).

Geometries are stored as WKB, zlib-compressed and base64-encoded (a processed-ground polygon
from a fine grid has thousands of vertices); the parameters as the planner's own fields
(:class:`~demining_control.coverage.planner.CoverageParams`), so a file from another version
plans with the defaults of the fields it lacks.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import math
import os
import zlib
from typing import Any, Dict, List, Optional, Sequence, Tuple

import shapely

from demining_control.coverage.planner import CoverageParams, CoveragePlan, plan_coverage

XY = Tuple[float, float]

#: Version of the file layout (``schema``); a file of a later one is refused. 2: the ground
#: the boom scanned and the machine drove before the request (``scanned``, ``driven``; a
#: version 1 file plans without them). 3: the detected suspects' discs (``suspects``; an
#: earlier file plans without them).
SCHEMA = 3
#: File name of the n-th request of a run.
_NAME = 'plan_{:03d}.json'


@dataclasses.dataclass
class PlanRequest:
    """One call of :func:`plan_coverage`, with when it was made (simulated or ROS time)."""

    field: List[XY]
    exclusion_zones: List[List[XY]]
    start: XY
    params: CoverageParams
    start_yaw: Optional[float] = None
    processed: Any = None           # shapely geometry or None
    safe_ground: Any = None
    no_go_zones: List[List[XY]] = dataclasses.field(default_factory=list)
    fence: Any = None
    stamp: float = math.nan
    scanned: Any = None
    driven: Any = None
    suspects: List[Tuple[float, float, float]] = dataclasses.field(default_factory=list)

    def plan(self) -> CoveragePlan:
        """Plan it again (:func:`plan_coverage`; raises its :class:`PlanningError`)."""
        return plan_coverage(self.field, self.exclusion_zones, self.start, self.params,
                             processed=self.processed, safe_ground=self.safe_ground,
                             no_go_zones=self.no_go_zones, fence=self.fence,
                             start_yaw=self.start_yaw, scanned=self.scanned,
                             driven=self.driven, suspects=self.suspects)

    def to_dict(self) -> Dict[str, Any]:
        """The JSON document (see the module docstring)."""
        return {'schema': SCHEMA, 'stamp': _number(self.stamp),
                'field': _points(self.field),
                'exclusion_zones': [_points(z) for z in self.exclusion_zones],
                'start': _points([self.start])[0], 'start_yaw': _number(self.start_yaw),
                'processed': _geometry(self.processed),
                'safe_ground': _geometry(self.safe_ground),
                'no_go_zones': [_points(z) for z in self.no_go_zones],
                'fence': _geometry(self.fence),
                'scanned': _geometry(self.scanned), 'driven': _geometry(self.driven),
                'suspects': [[float(v) for v in d] for d in self.suspects],
                'params': {f.name: getattr(self.params, f.name)
                           for f in dataclasses.fields(CoverageParams)}}

    @classmethod
    def from_dict(cls, doc: Dict[str, Any]) -> 'PlanRequest':
        """Read a document of :meth:`to_dict`; ValueError when it is not one."""
        if not isinstance(doc, dict) or not isinstance(doc.get('schema'), int):
            raise ValueError('not a plan request (no schema number)')
        if doc['schema'] > SCHEMA:
            raise ValueError(f'plan request schema {doc["schema"]} is newer than {SCHEMA}')
        try:
            names = {f.name for f in dataclasses.fields(CoverageParams)}
            params = CoverageParams(**{k: v for k, v in (doc.get('params') or {}).items()
                                       if k in names})
            start = tuple(float(v) for v in doc['start'])
            if len(start) != 2:
                raise ValueError('start must be [x, y]')
            yaw = doc.get('start_yaw')
            stamp = doc.get('stamp')
            return cls(field=_read_points(doc['field']),
                       exclusion_zones=[_read_points(z) for z in doc.get('exclusion_zones', [])],
                       start=(start[0], start[1]), params=params,
                       start_yaw=None if yaw is None else float(yaw),
                       processed=_read_geometry(doc.get('processed')),
                       safe_ground=_read_geometry(doc.get('safe_ground')),
                       no_go_zones=[_read_points(z) for z in doc.get('no_go_zones', [])],
                       fence=_read_geometry(doc.get('fence')),
                       scanned=_read_geometry(doc.get('scanned')),
                       driven=_read_geometry(doc.get('driven')),
                       suspects=[_read_disc(d) for d in doc.get('suspects', [])],
                       stamp=math.nan if stamp is None else float(stamp))
        except (KeyError, TypeError, IndexError, zlib.error, shapely.errors.ShapelyError,
                binascii.Error) as exc:
            raise ValueError(f'malformed plan request: {exc}') from exc


def _read_disc(values: Any) -> Tuple[float, float, float]:
    """A suspect's disc [x, y, radius]; ValueError when it is not one."""
    disc = tuple(float(v) for v in values)
    if len(disc) != 3:
        raise ValueError('a suspect must be [x, y, radius]')
    return disc


def write_request(directory: str, request: PlanRequest) -> str:
    """Write ``request`` as the next ``plan_NNN.json`` in ``directory`` (made if missing);
    return its path."""
    os.makedirs(directory, exist_ok=True)
    n = 1 + sum(1 for name in os.listdir(directory)
                if name.startswith('plan_') and name.endswith('.json'))
    path = os.path.join(directory, _NAME.format(n))
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(request.to_dict(), f)
    os.replace(tmp, path)           # never a half-written request
    return path


def read_request(path: str) -> PlanRequest:
    """Read a request file; ValueError (with the file named) when it is not one."""
    try:
        with open(path, encoding='utf-8') as f:
            doc = json.load(f)
        return PlanRequest.from_dict(doc)
    except (OSError, json.JSONDecodeError, ValueError) as exc:
        raise ValueError(f'{path}: {exc}') from exc


def _number(v: Optional[float]) -> Optional[float]:
    return None if v is None or not math.isfinite(float(v)) else float(v)


def _points(ring: Sequence[Sequence[float]]) -> List[List[float]]:
    return [[float(p[0]), float(p[1])] for p in ring]


def _read_points(ring) -> List[XY]:
    pts = [(float(p[0]), float(p[1])) for p in ring]
    if not all(math.isfinite(v) for p in pts for v in p):
        raise ValueError('non-finite coordinate')
    return pts


def _geometry(geom) -> Optional[str]:
    if geom is None:
        return None
    return base64.b64encode(zlib.compress(shapely.to_wkb(geom))).decode('ascii')


def _read_geometry(text: Optional[str]):
    if text is None:
        return None
    return shapely.from_wkb(zlib.decompress(base64.b64decode(text.encode('ascii'))))


__all__ = ['PlanRequest', 'SCHEMA', 'read_request', 'write_request']
