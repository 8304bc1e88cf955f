"""Processed-ground grid: which cells the working tool has swept (pure core, numpy).

The tool is a line segment ``tool_width_m`` wide, perpendicular to the heading, centred
``tool_offset_x_m`` ahead of base_link. Between two consecutive poses at which the tool works the
segment sweeps a quadrilateral; cells whose centres fall inside it are marked. Large steps and
turns are split into sub-steps so every quadrilateral stays convex (a pivot sweeps an annulus
sector). Memory is one boolean per cell over the field's bounding box plus a margin, fixed at
construction.
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.ops import unary_union

from demining_bringup.contract.topics import PROCESSED_VALUE

XY = Tuple[float, float]

#: Largest yaw change of one sub-step, rad (keeps the swept quadrilateral convex and close to
#: the true annulus sector).
_MAX_SUBSTEP_YAW = 0.05
#: A pose jump larger than this is a localisation reset, not motion: nothing is marked, m.
_MAX_STEP_M = 5.0
#: Cells beyond the field's bounding box that are still tracked (the tool passes the boundary), m.
_GRID_MARGIN_M = 1.0
#: Upper bound of the grid size (cells), so a huge polygon cannot exhaust memory.
_MAX_CELLS = 50_000_000
#: An edge of a rasterised polygon rising less than this across its length is flat, m.
_FLAT_EDGE_M = 1e-12


def hull_vertices(points) -> List[XY]:
    """The vertices of :func:`convex_hull`, as a list of (x, y) python floats.

    ``points``: an N x 2 array, or a list of (x, y) pairs of python floats (no conversion).
    """
    # python floats, not numpy scalars: the chain's arithmetic is ~5x faster on them; the
    # cross product is written out in the loops (the supervisor and the mission manager take
    # tens of hulls per control tick, and a call per cross product was a third of the cost)
    pts = sorted(map(tuple, points if isinstance(points, list)
                     else np.asarray(points, dtype=float).reshape(-1, 2).tolist()))
    lower: list = []
    for q in pts:
        while len(lower) >= 2:
            (ox, oy), (ax, ay) = lower[-2], lower[-1]
            if (ax - ox) * (q[1] - oy) - (ay - oy) * (q[0] - ox) > 0.0:
                break
            lower.pop()
        lower.append(q)
    upper: list = []
    for q in reversed(pts):
        while len(upper) >= 2:
            (ox, oy), (ax, ay) = upper[-2], upper[-1]
            if (ax - ox) * (q[1] - oy) - (ay - oy) * (q[0] - ox) > 0.0:
                break
            upper.pop()
        upper.append(q)
    return lower[:-1] + upper[:-1]


def convex_hull(points) -> np.ndarray:
    """Return the convex hull of a few points, counter-clockwise (Andrew's monotone chain).

    ``points``: an N x 2 array, or a list of (x, y) pairs of python floats (no conversion).
    """
    return np.asarray(hull_vertices(points))


def convex_cells(polygon, x0: float, y0: float, res: float, width: int,
                 height: int) -> Tuple[slice, slice, np.ndarray]:
    """Cells of a grid whose centres lie in a convex polygon (its boundary included).

    The grid has ``width`` x ``height`` cells of ``res`` metres from ``(x0, y0)``, rows along y.
    ``polygon``: an N x 2 array, or a list of (x, y) pairs of python floats (no conversion).
    Returns the row and column slices of the polygon's bounding window on the grid and the
    inside mask there (empty slices off the grid). The mask is :func:`convex_cells_many`'s,
    bit for bit: the same row bounds, computed on python floats (one polygon of a handful of
    vertices over a few dozen rows, where numpy's per-call overhead was most of the cost; the
    mission manager and the supervisor each rasterise the tool's sweep once a pose).
    """
    pts = polygon if isinstance(polygon, list) else \
        np.asarray(polygon, dtype=float).reshape(-1, 2).tolist()
    empty = slice(0, 0), slice(0, 0), np.zeros((0, 0), dtype=bool)
    m = len(pts)
    if m < 3:
        return empty
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    i0 = max(int(math.floor((min(xs) - x0) / res)), 0)
    i1 = min(int(math.ceil((max(xs) - x0) / res)), width)
    j0 = max(int(math.floor((min(ys) - y0) / res)), 0)
    j1 = min(int(math.ceil((max(ys) - y0) / res)), height)
    if i1 <= i0 or j1 <= j0:
        return empty
    rows, cols = slice(j0, j1), slice(i0, i1)
    # twice the signed area, summed as convex_cells_many sums it (its sign orients the edges)
    area2 = sum(xs[i - 1] * ys[i] - xs[i] * ys[i - 1] for i in range(m))
    if not math.isfinite(area2):
        # huge or non-finite vertices: the array path's infinity and NaN semantics
        return rows, cols, convex_cells_many([np.asarray(pts, dtype=float)], x0, y0, res,
                                             rows, cols)[0]
    if area2 == 0.0:
        return rows, cols, np.zeros((j1 - j0, i1 - i0), dtype=bool)
    if area2 < 0.0:
        pts = pts[::-1]
    # the row intervals of convex_cells_many, element by element: the same products and
    # sums in the same order, and min/max are exact (no NaN can arise from finite vertices)
    gy = [y0 + (j + 0.5) * res for j in range(j0, j1)]
    hi = [math.inf] * len(gy)
    lo = [-math.inf] * len(gy)
    ax, ay = pts[-1]
    for bx, by in pts:
        dx, dy = bx - ax, by - ay
        if abs(dy) < _FLAT_EDGE_M:
            # a flat edge bounds whole rows: the polygon lies on its left
            for r, y in enumerate(gy):
                if dx * (y - ay) < 0.0:
                    hi[r] = -math.inf
        elif dy > 0.0:
            slope = dx / dy
            for r, y in enumerate(gy):
                x = ax + slope * (y - ay)
                if x < hi[r]:
                    hi[r] = x
        else:
            slope = dx / dy
            for r, y in enumerate(gy):
                x = ax + slope * (y - ay)
                if x > lo[r]:
                    lo[r] = x
        ax, ay = bx, by
    gx = x0 + (np.arange(i0, i1) + 0.5) * res
    return rows, cols, (gx >= np.array(lo)[:, None]) & (gx <= np.array(hi)[:, None])


def convex_cells_many(polygons: Sequence[np.ndarray], x0: float, y0: float, res: float,
                      rows: slice, cols: slice) -> np.ndarray:
    """Inside masks of convex polygons over one window of a grid (P x rows x cols booleans).

    The grid as in :func:`convex_cells`; the window is its ``rows`` (y) and ``cols`` (x)
    slices. A cell is inside when its centre is in the polygon or on its boundary; a polygon of
    fewer than 3 vertices or no area covers nothing. Each row's inside is one interval, bounded
    by the edges that rise (right bound) or fall (left bound) through it, so the work is a few
    operations on a polygons x edges x rows array for all polygons at once (the supervisor
    rasterises a dozen polygons per control tick).
    """
    gx = x0 + (np.arange(cols.start, cols.stop) + 0.5) * res
    gy = y0 + (np.arange(rows.start, rows.stop) + 0.5) * res
    n = max((len(p) for p in polygons), default=0)
    out_shape = (len(polygons), len(gy), len(gx))
    if n < 3:
        return np.zeros(out_shape, dtype=bool)
    # pad each polygon to n vertices by repeating its last (a zero edge bounds nothing),
    # counter-clockwise so the inside is on every edge's left
    q = np.empty((len(polygons), n, 2))
    valid = np.ones(len(polygons), dtype=bool)
    for k, poly in enumerate(polygons):
        p = np.asarray(poly, dtype=float).reshape(-1, 2)
        m = len(p)
        if m < 3:
            valid[k] = False
            q[k] = 0.0
            continue
        xs, ys = p[:, 0].tolist(), p[:, 1].tolist()
        area2 = sum(xs[i - 1] * ys[i] - xs[i] * ys[i - 1] for i in range(m))
        if area2 == 0.0:
            valid[k] = False
        q[k, :m] = p if area2 >= 0.0 else p[::-1]
        q[k, m:] = q[k, m - 1]
    a = q
    d = np.concatenate((q[:, 1:], q[:, :1]), axis=1) - q         # edges a -> a + d
    dx, dy = d[..., 0], d[..., 1]
    # an edge rising less than this is flat: it bounds whole rows (and its slope would overflow)
    flat = np.abs(dy) < _FLAT_EDGE_M
    rising, falling = (dy > 0.0) & ~flat, (dy < 0.0) & ~flat
    # left of an edge: dx (y - ay) - dy (x - ax) >= 0, i.e. x <= (rising) or >= (falling) the
    # edge's x at the row's y
    rel = gy[None, None, :] - a[..., 1:]                         # P x n x rows
    x_at = a[..., :1] + (dx / np.where(flat, 1.0, dy))[..., None] * rel
    hi = np.where(rising[..., None], x_at, np.inf).min(axis=1)  # P x rows
    lo = np.where(falling[..., None], x_at, -np.inf).max(axis=1)
    # a flat edge bounds the rows: the polygon lies on its left
    hi[(flat[..., None] & (dx[..., None] * rel < 0.0)).any(axis=1)] = -np.inf
    hi[~valid] = -np.inf
    return (gx[None, None, :] >= lo[..., None]) & (gx[None, None, :] <= hi[..., None])


def polygon_cells(geom, x0: float, y0: float, res: float, width: int,
                  height: int) -> np.ndarray:
    """Cells of a grid whose centres lie in a polygonal geometry (height x width booleans).

    The grid as in :func:`convex_cells`. ``geom``: a shapely (Multi)Polygon or collection
    (parts without area cover nothing), None or empty (nothing). The answer is
    ``shapely.contains_xy`` at every cell centre, found by the crossing rule per row over all
    rings (holes and parts included) rather than a point test per cell: a 1.25 million cell
    check raster cost 50-90 ms a layer point by point, a handful of milliseconds by rows.
    A centre exactly on the boundary may fall either side (``contains_xy`` says outside); an
    invalid geometry (self-intersecting) is tested point by point, whose rule it keeps.
    """
    out_shape = (int(height), int(width))
    if geom is None or geom.is_empty or width <= 0 or height <= 0:
        return np.zeros(out_shape, dtype=bool)
    if not geom.is_valid:
        gx, gy = np.meshgrid(x0 + (np.arange(width) + 0.5) * res,
                             y0 + (np.arange(height) + 0.5) * res)
        return shapely.contains_xy(geom, gx, gy)
    parts = shapely.get_parts(geom)
    nested = (shapely.GeometryType.MULTIPOLYGON, shapely.GeometryType.GEOMETRYCOLLECTION)
    while np.isin(shapely.get_type_id(parts), nested).any():
        parts = shapely.get_parts(parts)
    polygons = parts[shapely.get_type_id(parts) == shapely.GeometryType.POLYGON]
    rings = shapely.get_rings(polygons) if len(polygons) else []
    edges = []
    for ring in rings:
        c = shapely.get_coordinates(ring)
        edges.append(np.hstack((c[:-1], c[1:])))
    if not edges:
        return np.zeros(out_shape, dtype=bool)
    e = np.vstack(edges)
    ax, ay, bx, by = e[:, 0], e[:, 1], e[:, 2], e[:, 3]
    # an edge crosses the rows whose centre y is in [min(ay, by), max(ay, by)): the half-open
    # rule counts a vertex between two edges once, and a flat edge never
    lo, hi = np.minimum(ay, by), np.maximum(ay, by)
    j_lo = np.clip(np.ceil((lo - y0) / res - 0.5), 0, height).astype(np.intp)
    j_hi = np.clip(np.ceil((hi - y0) / res - 0.5), 0, height).astype(np.intp)
    n = j_hi - j_lo
    keep = n > 0
    # Only each count's parity is read: bytes, whose sums wrap modulo 256 (even), keep it
    # exactly, and their running sums and the mask are a byte per cell where int64 ones
    # (np.cumsum's default) were eight: half the cost of a hectare's layer.
    counts = np.zeros((height, width + 1), dtype=np.uint8)
    if keep.any():
        n = n[keep]
        edge = np.repeat(np.flatnonzero(keep), n)
        first = np.repeat(j_lo[keep] - np.concatenate(([0], np.cumsum(n)[:-1])), n)
        j = first + np.arange(int(n.sum()))
        yc = y0 + (j + 0.5) * res
        t = (yc - ay[edge]) / (by[edge] - ay[edge])
        xc = ax[edge] + t * (bx[edge] - ax[edge])
        # the crossing is left of every centre from this column on
        i = np.clip(np.ceil((xc - x0) / res - 0.5), 0, width).astype(np.intp)
        np.add.at(counts, (j, i), 1)
    inside = np.cumsum(counts[:, :width], axis=1, dtype=np.uint8)
    inside &= 1
    return inside.view(bool)


class ProcessedGrid:
    """Boolean grid of processed ground over a field minus exclusion zones."""

    def __init__(self, field: Sequence[XY], exclusion_zones: Sequence[Sequence[XY]] = (),
                 resolution: float = 0.1, tool_width_m: float = 2.0,
                 tool_offset_x_m: float = 2.6) -> None:
        """Allocate the grid over the field's bounding box.

        :raises ValueError: on a bad resolution or a grid above the memory bound.
        """
        if not (math.isfinite(resolution) and resolution > 0.0):
            raise ValueError(f'resolution must be positive, got {resolution!r}')
        poly = Polygon(field)
        for z in exclusion_zones:
            poly = poly.difference(Polygon(z))
        self.field = [tuple(p) for p in field]
        self.exclusion_zones = [[tuple(p) for p in z] for z in exclusion_zones]
        self.resolution = float(resolution)
        self.tool_width_m = float(tool_width_m)
        self.tool_offset_x_m = float(tool_offset_x_m)
        minx, miny, maxx, maxy = Polygon(field).bounds
        self.origin_x = minx - _GRID_MARGIN_M
        self.origin_y = miny - _GRID_MARGIN_M
        self.width = int(math.ceil((maxx - minx + 2 * _GRID_MARGIN_M) / resolution))
        self.height = int(math.ceil((maxy - miny + 2 * _GRID_MARGIN_M) / resolution))
        if self.width * self.height > _MAX_CELLS:
            raise ValueError(f'processed grid of {self.width} x {self.height} cells exceeds '
                             f'{_MAX_CELLS}; use a coarser resolution')
        #: cells to process (inside the field, outside exclusion zones); rows = y, columns = x
        self.mask = polygon_cells(poly, self.origin_x, self.origin_y, resolution, self.width,
                                  self.height)
        # read-only: the figures below count on it never changing
        self.mask.flags.writeable = False
        self._field_cells = int(np.count_nonzero(self.mask))
        self._cell_area = resolution * resolution
        # the occupancy grid's fixed part (-1 outside, 0 to process): the mask never changes
        self._occupancy_base = np.where(self.mask, np.int8(0), np.int8(-1))
        self.processed = np.zeros((self.height, self.width), dtype=bool)
        self._last: Optional[Tuple[float, float, float]] = None

    # -- the processed cells and what follows from them -------------------------------------

    # The figures (processed area, coverage, the occupancy grid) are read every second over
    # ~10^6 cells, while a pose marks a few hundred: they are kept up to date over the window
    # marked since they were last read (the dirty box), not recomputed over the whole grid
    # (~1 ms a second of the mission manager's time). Marking only adds processed cells.

    @property
    def processed(self) -> np.ndarray:
        """Processed cells (rows = y), read-only: marking is the grid's, or assign an array."""
        view = self._processed.view()
        view.flags.writeable = False
        return view

    @processed.setter
    def processed(self, cells: np.ndarray) -> None:
        cells = np.array(cells, dtype=bool)
        if cells.shape != self.mask.shape:
            raise ValueError(f'processed cells of shape {cells.shape}, the grid is '
                             f'{self.mask.shape}')
        self._processed = cells
        in_field = cells & self.mask
        self._in_field = int(np.count_nonzero(in_field))
        self._occupancy = np.where(in_field, np.int8(PROCESSED_VALUE), self._occupancy_base)
        self._dirty: Optional[List[int]] = None

    def _sync(self) -> None:
        """Bring the in-field count and the occupancy grid up to the marked cells."""
        box = self._dirty
        if box is None:
            return
        self._dirty = None
        window = slice(box[0], box[1]), slice(box[2], box[3])
        now = self._processed[window] & self.mask[window]
        occupancy = self._occupancy[window]
        self._in_field += int(np.count_nonzero(now)) - int(
            np.count_nonzero(occupancy == PROCESSED_VALUE))
        occupancy[now] = PROCESSED_VALUE

    # -- marking ---------------------------------------------------------------------------

    def _tool_ends(self, x: float, y: float, yaw: float) -> Tuple[XY, XY]:
        """The tool line's left and right ends at a pose (python floats)."""
        c, s = math.cos(yaw), math.sin(yaw)
        cx, cy = x + self.tool_offset_x_m * c, y + self.tool_offset_x_m * s
        h = 0.5 * self.tool_width_m
        return (cx - h * s, cy + h * c), (cx + h * s, cy - h * c)

    def mark_quad(self, quad) -> None:
        """Mark cells whose centres are inside the convex hull of 4 points (any order).

        ``quad``: a 4 x 2 array, or a list of (x, y) pairs of python floats. The hull, not the
        quadrilateral in the given order: a segment sliding along itself (the tool line during
        a pivot) gives a self-intersecting "bow tie" in swept order.
        """
        rows, cols, mask = convex_cells(hull_vertices(quad), self.origin_x, self.origin_y,
                                        self.resolution, self.width, self.height)
        if mask.size:
            self._processed[rows, cols] |= mask
            box = self._dirty
            if box is None:
                self._dirty = [rows.start, rows.stop, cols.start, cols.stop]
            else:
                box[0], box[1] = min(box[0], rows.start), max(box[1], rows.stop)
                box[2], box[3] = min(box[2], cols.start), max(box[3], cols.stop)

    def sweep(self, x0: float, y0: float, yaw0: float, x1: float, y1: float,
              yaw1: float) -> None:
        """Mark the ground the tool sweeps from pose 0 to pose 1 (split into convex steps)."""
        dyaw = math.atan2(math.sin(yaw1 - yaw0), math.cos(yaw1 - yaw0))
        dist = math.hypot(x1 - x0, y1 - y0)
        n = max(1, int(math.ceil(abs(dyaw) / _MAX_SUBSTEP_YAW)),
                int(math.ceil(dist / (4.0 * self.tool_width_m))))
        prev = self._tool_ends(x0, y0, yaw0)
        for k in range(1, n + 1):
            f = k / n
            cur = self._tool_ends(x0 + f * (x1 - x0), y0 + f * (y1 - y0), yaw0 + f * dyaw)
            self.mark_quad([prev[0], prev[1], cur[1], cur[0]])
            prev = cur

    def update(self, x: float, y: float, yaw: float, working: bool) -> None:
        """Feed one pose; the step from the previous pose is marked when both were working.

        Non-finite poses are ignored (and break the sweep), as are jumps over 5 m.
        """
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(yaw)):
            self._last = None
            return
        if not working:
            self._last = None
            return
        if self._last is not None:
            lx, ly, lyaw = self._last
            if math.hypot(x - lx, y - ly) <= _MAX_STEP_M:
                self.sweep(lx, ly, lyaw, x, y, yaw)
        self._last = (x, y, yaw)

    # -- figures ---------------------------------------------------------------------------

    # count_nonzero, not sum: the figures are read every second over ~10^6 cells, and a sum
    # of booleans converts them to integers first (~6x slower)
    def field_area_m2(self) -> float:
        """Area to process (field minus exclusions) as the grid sees it, m^2."""
        return float(self._field_cells) * self._cell_area

    def processed_area_m2(self) -> float:
        """Processed area inside the field (exclusions excluded), m^2."""
        self._sync()
        return float(self._in_field) * self._cell_area

    def swept_area_m2(self) -> float:
        """Every cell the tool swept, in the field or not, m^2."""
        return float(np.count_nonzero(self._processed)) * self._cell_area

    def coverage_percent(self) -> float:
        """Processed share of the field minus exclusions, percent."""
        if self._field_cells == 0:
            return 0.0
        self._sync()
        return 100.0 * float(self._in_field) / self._field_cells

    def occupancy_values(self) -> np.ndarray:
        """Return int8 cells for nav_msgs/OccupancyGrid: 100 processed, 0 not, -1 outside.

        A new array (the caller may keep it: it is published).
        """
        return self.occupancy_view().copy()

    def occupancy_view(self) -> np.ndarray:
        """:meth:`occupancy_values` without the copy: a read-only view of the cache, valid
        until the grid next changes (for a message encoded at once: a 1 ha grid is ~1.4 MB,
        published every second)."""
        self._sync()
        view = self._occupancy.view()
        view.flags.writeable = False
        return view


def processed_geometry(values: np.ndarray, origin_x: float, origin_y: float,
                       resolution: float, processed_value: int = PROCESSED_VALUE):
    """The processed cells of an occupancy grid (rows = y) as one shapely geometry.

    Each row's runs of processed cells become one box, and the boxes are merged, so a field of
    tens of thousands of cells costs a few hundred boxes (used when a path is re-planned).
    The runs of every row are found in one set of array calls and their boxes made in one
    call (row by row, a hectare's grid was a thousand rows of array calls and a box object
    per run: half the cost of the planner's suspect check); the boxes, their corners and
    their order are those of a row-by-row scan, so the union is the same geometry.
    """
    cells = np.asarray(values) == processed_value
    # a run starts where a row steps from False to True and ends where it steps back; the
    # padding closes the runs at the rows' ends, so each row's edges pair up in order
    padded = np.zeros((cells.shape[0], cells.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = cells
    rows, edges = np.nonzero(padded[:, 1:] != padded[:, :-1])
    if not len(edges):
        return Polygon()
    x0 = origin_x + edges[0::2] * resolution
    x1 = origin_x + edges[1::2] * resolution
    y0 = origin_y + rows[0::2] * resolution
    return unary_union(shapely.box(x0, y0, x1, y0 + resolution))


def cells_geometry_near(cells: np.ndarray, origin_x: float, origin_y: float,
                        resolution: float, bounds: Tuple[float, float, float, float]):
    """The True cells of ``cells`` (rows = y) within ``bounds`` (min x, min y, max x, max y:
    whole cells, those the bounds touch) as one shapely geometry (:func:`processed_geometry`
    of that window: a hectare's grid is not turned into polygons for a few metres of it)."""
    cells = np.asarray(cells, dtype=bool)
    c0 = max(int(math.floor((bounds[0] - origin_x) / resolution)), 0)
    r0 = max(int(math.floor((bounds[1] - origin_y) / resolution)), 0)
    c1 = min(int(math.ceil((bounds[2] - origin_x) / resolution)), cells.shape[1])
    r1 = min(int(math.ceil((bounds[3] - origin_y) / resolution)), cells.shape[0])
    if r1 <= r0 or c1 <= c0:
        return Polygon()
    return processed_geometry(cells[r0:r1, c0:c1].astype(np.int8), origin_x + c0 * resolution,
                              origin_y + r0 * resolution, resolution, processed_value=1)
