"""Spatial helpers shared by the simulator parts: a uniform-grid point index and terrain access.

A 1-ha field holds tens of thousands of clutter items and rocks; every sensor batch and every
tool check only needs the few within a metre or two, so items are bucketed once into a grid
sorted by cell and a box query is a handful of ``searchsorted`` calls.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np

from demining_bringup.contract.world import Terrain

#: :meth:`ItemTable.near` queries the grid for its box grown by this much and answers the
#: following boxes inside that one from the rows it found, m: the sensor boom moves a few
#: centimetres between batches, so one grid query serves a few dozen of them.
_NEAR_REUSE_MARGIN_M = 2.0


class GridIndex:
    """Static uniform-grid index of 2-D points answering axis-aligned box queries."""

    def __init__(self, x: np.ndarray, y: np.ndarray, cell_m: float = 1.0) -> None:
        """Bucket the points ``(x[i], y[i])`` into square cells of ``cell_m`` metres."""
        if cell_m <= 0.0:
            raise ValueError(f'cell size must be positive, got {cell_m}')
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        self.cell = float(cell_m)
        self.size = int(x.size)
        if self.size == 0:
            self._x0 = self._y0 = 0.0
            self._nx = self._ny = 1
            self._keys = np.zeros(0, dtype=np.int64)
            self._order = np.zeros(0, dtype=np.int64)
            return
        self._x0 = float(x.min())
        self._y0 = float(y.min())
        self._nx = int((x.max() - self._x0) // self.cell) + 1
        self._ny = int((y.max() - self._y0) // self.cell) + 1
        ix = ((x - self._x0) // self.cell).astype(np.int64)
        iy = ((y - self._y0) // self.cell).astype(np.int64)
        keys = iy * self._nx + ix
        self._order = np.argsort(keys, kind='stable')
        self._keys = keys[self._order]

    def query_box(self, xmin: float, xmax: float, ymin: float, ymax: float) -> np.ndarray:
        """Indices of points whose cell overlaps the box (a superset: filter exactly after)."""
        if self.size == 0 or xmax < xmin or ymax < ymin:
            return np.zeros(0, dtype=np.int64)
        ix0 = max(0, int((xmin - self._x0) // self.cell))
        ix1 = min(self._nx - 1, int((xmax - self._x0) // self.cell))
        iy0 = max(0, int((ymin - self._y0) // self.cell))
        iy1 = min(self._ny - 1, int((ymax - self._y0) // self.cell))
        if ix1 < ix0 or iy1 < iy0:
            return np.zeros(0, dtype=np.int64)
        rows = np.arange(iy0, iy1 + 1, dtype=np.int64) * self._nx
        if len(rows) == 1:
            lo, hi = np.searchsorted(self._keys, [rows[0] + ix0, rows[0] + ix1 + 1]).tolist()
            return self._order[lo:hi]
        # One search for both ends of every cell row (keys are integers: the first key
        # after row + ix1 is where row + ix1 + 1 would go); Python ints slice faster.
        ends = np.searchsorted(self._keys, np.concatenate([rows + ix0, rows + (ix1 + 1)]))
        ends = ends.tolist()
        n = len(rows)
        order = self._order
        return np.concatenate([order[a:b] for a, b in zip(ends[:n], ends[n:]) if b > a]
                              or [np.zeros(0, dtype=np.int64)])

    def query_radius(self, x: float, y: float, radius: float) -> np.ndarray:
        """Indices of points whose cell overlaps the square around (x, y) (a superset)."""
        return self.query_box(x - radius, x + radius, y - radius, y + radius)


def height_at(terrain: Terrain, x, y) -> np.ndarray:
    """Ground height (m) at map points, through the terrain's own query when it has one."""
    fn = getattr(terrain, 'height_at', None)
    if fn is not None:
        return np.asarray(fn(x, y), dtype=float)
    if terrain.heights is not None:
        raise NotImplementedError('heightmap terrain needs Terrain.height_at')
    return np.full(np.broadcast(np.asarray(x), np.asarray(y)).shape, terrain.flat_height)


def gradient_at(terrain: Terrain, x, y) -> Tuple[np.ndarray, np.ndarray]:
    """Ground gradient (dz/dx, dz/dy) at map points."""
    fn = getattr(terrain, 'gradient_at', None)
    if fn is not None:
        gx, gy = fn(x, y)
        return np.asarray(gx, dtype=float), np.asarray(gy, dtype=float)
    shape = np.broadcast(np.asarray(x), np.asarray(y)).shape
    return np.zeros(shape), np.zeros(shape)


def is_flat(terrain: Terrain) -> bool:
    """True when the terrain is the plane ``z = flat_height`` (lets callers skip queries)."""
    return terrain.heights is None


def wrap_angle(a: float) -> float:
    """Wrap an angle to [-pi, pi)."""
    return (a + math.pi) % (2.0 * math.pi) - math.pi


class ItemTable:
    """Buried items as columns (numpy arrays) with a grid index and an ``active`` mask.

    Item ``i`` of the world is row ``i``; extra GPR-only scatterers (rocks, roots) may be
    appended with :meth:`with_scatterers`. Rows are never removed: a neutralised item is
    marked inactive so indices stay valid.
    """

    def __init__(self, items, cell_m: float = 1.0) -> None:
        """Build the table from :class:`demining_bringup.contract.world.BuriedItem` items."""
        items = list(items)
        self.names = [it.name for it in items]
        self.kinds = [getattr(it.kind, 'value', str(it.kind)) for it in items]
        self.models = [it.model for it in items]
        self.x = np.array([it.x for it in items], dtype=float)
        self.y = np.array([it.y for it in items], dtype=float)
        self.depth = np.array([it.depth for it in items], dtype=float)
        self.diameter = np.array([it.diameter for it in items], dtype=float)
        self.height = np.array([it.height for it in items], dtype=float)
        self.metal_mass = np.array([it.metal_mass for it in items], dtype=float)
        self.explosive_mass = np.array([it.explosive_mass for it in items], dtype=float)
        self.permittivity = np.array([it.permittivity for it in items], dtype=float)
        self.hazard = np.array([k != 'clutter' for k in self.kinds], dtype=bool)
        self.gpr_only = np.zeros(len(items), dtype=bool)
        self.active = np.ones(len(items), dtype=bool)
        self._cell = cell_m
        self.index = GridIndex(self.x, self.y, cell_m)
        # (index, xmin, xmax, ymin, ymax, rows): the grid's rows for a grown box (near())
        self._near_box: Optional[Tuple[GridIndex, float, float, float, float, np.ndarray]] = None

    def __len__(self) -> int:
        """Number of rows (world items plus scatterers)."""
        return int(self.x.size)

    def with_scatterers(self, x: np.ndarray, y: np.ndarray, depth: np.ndarray,
                        diameter: np.ndarray, permittivity: np.ndarray) -> 'ItemTable':
        """Append GPR-only point scatterers (no metal, no hazard) and rebuild the index."""
        n = int(np.asarray(x).size)
        self.names += [f'rock_{i}' for i in range(n)]
        self.kinds += ['rock'] * n
        self.models += [''] * n
        self.x = np.concatenate([self.x, np.asarray(x, float)])
        self.y = np.concatenate([self.y, np.asarray(y, float)])
        self.depth = np.concatenate([self.depth, np.asarray(depth, float)])
        self.diameter = np.concatenate([self.diameter, np.asarray(diameter, float)])
        self.height = np.concatenate([self.height, np.asarray(diameter, float)])
        self.metal_mass = np.concatenate([self.metal_mass, np.zeros(n)])
        self.explosive_mass = np.concatenate([self.explosive_mass, np.zeros(n)])
        self.permittivity = np.concatenate([self.permittivity, np.asarray(permittivity, float)])
        self.hazard = np.concatenate([self.hazard, np.zeros(n, dtype=bool)])
        self.gpr_only = np.concatenate([self.gpr_only, np.ones(n, dtype=bool)])
        self.active = np.concatenate([self.active, np.ones(n, dtype=bool)])
        self.index = GridIndex(self.x, self.y, self._cell)
        return self

    def move(self, row: int, x: float, y: float) -> None:
        """Move one row to (x, y) and rebuild the grid index (rare: an item thrown aside)."""
        self.x[row] = x
        self.y[row] = y
        self.index = GridIndex(self.x, self.y, self._cell)

    def near(self, xmin: float, xmax: float, ymin: float, ymax: float) -> np.ndarray:
        """Active rows inside the box (exact filter after the grid query).

        The grid's rows come in cell order (cells by key, rows by index within a cell) for
        any box, so the rows of a larger box filtered by this one are this box's, in the same
        order: a box inside the last grown one reuses its rows (the index object is checked:
        :meth:`move` and :meth:`with_scatterers` replace it).
        """
        box = self._near_box
        if box is not None and box[0] is self.index and box[1] <= xmin and xmax <= box[2] \
                and box[3] <= ymin and ymax <= box[4]:
            idx = box[5]
        else:
            m = _NEAR_REUSE_MARGIN_M
            box = (self.index, xmin - m, xmax + m, ymin - m, ymax + m)
            idx = self.index.query_box(*box[1:])
            self._near_box = box + (idx,)
        if idx.size == 0:
            return idx
        x = self.x[idx]
        y = self.y[idx]
        keep = self.active[idx] & (x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax)
        return idx[keep]
