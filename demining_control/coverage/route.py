"""Transits that keep the tracks on allowed ground: a shortest path on a raster (pure core).

The coverage planner's transit candidates are a few shapes (straight, round a headland ring,
round a cluster of keep-out zones). When none of them stays on allowed ground, e.g. a no-go
zone cuts the first headland pass and every way round it leaves the field, the shortest path
through the ground the tracks may use (processed, declared safe; issue 7 item 1, "allowed
ground, one geometry for everyone") is searched on a raster. A cell is allowed when the
tracks' half-width round it is (a Euclidean distance transform); a metre through a cell that
is not costs the planner's penalty, so the route leaves allowed ground only where nothing else
connects, for as short a stretch as it can (the corners of a first headland ring, where the
raised tool left the strips apart, cost less than metres of ground round the field nobody
declared safe). Keep-out ground and ground outside the raster are never entered. The
cheapest path is Dijkstra's on the 8-connected cells (``scipy.sparse.csgraph``), then the
string pulled: a straight leg replaces a stretch when it costs no more.
"""

from __future__ import annotations

import copy
import math
from typing import List, Optional, Tuple

import numpy as np
from scipy import ndimage

from demining_control.coverage.processed import polygon_cells

XY = Tuple[float, float]

#: Finest raster cell, m (a larger area gets coarser cells, see ``_MAX_CELLS``).
_RES_M = 0.5
#: Most raster cells: bounds the memory and the search time on a large field.
_MAX_CELLS = 80_000
#: Most searches a router keeps (:meth:`AllowedRouter.search`; ~1 MB each at _MAX_CELLS):
#: bounds the memory of a plan with transits from many places; the oldest goes first.
_MAX_SEARCHES = 64


class AllowedRouter:
    """Cheapest paths through allowed ground, wide enough for the tracks."""

    def __init__(self, bounds: Tuple[float, float, float, float], allowed, blocked,
                 half_width_m: float, penalty: float) -> None:
        """Rasterise over ``bounds`` (minx, miny, maxx, maxy).

        :param allowed: where the tracks may be (shapely, map frame).
        :param blocked: where base_link may never be (keep-out zones grown by the hull,
            outside the geofence); shapely or None.
        :param half_width_m: the tracks' half-width: a cell is allowed when the disc of this
            radius round its centre is.
        :param penalty: cost of a metre that is not allowed, in metres.
        """
        minx, miny, maxx, maxy = bounds
        area = max((maxx - minx) * (maxy - miny), 1.0)
        self.res = max(_RES_M, math.sqrt(area / _MAX_CELLS))
        self.x0, self.y0 = minx, miny
        self.w = max(1, int(math.ceil((maxx - minx) / self.res)))
        self.h = max(1, int(math.ceil((maxy - miny) / self.res)))
        xs = self.x0 + (np.arange(self.w) + 0.5) * self.res
        ys = self.y0 + (np.arange(self.h) + 0.5) * self.res
        self._grid = np.meshgrid(xs, ys)
        self._half = half_width_m
        #: cost of a metre through a cell that is not allowed, in metres
        self.penalty = float(penalty)
        self.passable = ~self._layer(blocked)
        #: where the tracks may be, per cell (before the half-width test)
        self._allowed = self._layer(allowed)
        #: cost of one metre through each cell
        self.cost = self._cost()
        self._graph = None
        self._edge_rows = self._edge_len = None
        #: the graph's edges and their CSR layout (passable cells only: shared by the copies
        #: :meth:`with_allowed` makes, built on the first search)
        self._layout: Optional[_Layout] = None
        #: the searches made on these costs, by source cell (:meth:`search`)
        self._searches: dict = {}

    def _layer(self, geom) -> np.ndarray:
        """Whether each raster centre lies in ``geom`` (None or empty: nowhere)."""
        return polygon_cells(geom, self.x0, self.y0, self.res, self.w, self.h)

    def _cost(self) -> np.ndarray:
        # each cell's distance to the nearest cell not allowed, m (kept for :meth:`room`)
        self._room = ndimage.distance_transform_edt(self._allowed) * self.res
        good = self._room > self._half
        return np.where(good, 1.0, self.penalty)

    def room(self, p: XY) -> float:
        """How far round ``p`` the ground is surely allowed, m (0 on a cell that is not, or off
        the raster).

        From ``p``'s cell centre to the nearest cell centre that is not allowed, less that
        cell's half diagonal (the ground not allowed may reach its corner) and ``p``'s offset
        from its own centre: on a coarse raster (a 10 ha field's cells are over a metre) the
        centre-to-centre distance alone over-states it.
        """
        j, i = self._cell(p)
        if not (0 <= j < self.h and 0 <= i < self.w):
            return 0.0
        cx, cy = self._centre(j * self.w + i)
        slack = math.sqrt(0.5) * self.res + math.hypot(p[0] - cx, p[1] - cy)
        return max(0.0, float(self._room[j, i]) - slack)

    def centres_near(self, p: XY, radius_m: float) -> List[XY]:
        """The passable cell centres within ``radius_m`` of ``p``, nearest first."""
        j0, i0 = self._cell(p)
        n = int(math.ceil(radius_m / self.res))
        j = np.arange(max(0, j0 - n), min(self.h, j0 + n + 1))
        i = np.arange(max(0, i0 - n), min(self.w, i0 + n + 1))
        if not len(j) or not len(i):
            return []
        jj, ii = np.meshgrid(j, i, indexing='ij')
        x = self.x0 + (ii + 0.5) * self.res
        y = self.y0 + (jj + 0.5) * self.res
        d = np.hypot(x - p[0], y - p[1])
        ok = (d <= radius_m) & self.passable[jj, ii]
        order = np.argsort(d[ok], kind='stable')
        return [(float(a), float(b)) for a, b in zip(x[ok][order], y[ok][order])]

    def with_allowed(self, allowed) -> 'AllowedRouter':
        """The same raster and blocked ground with other allowed ground (cheaper than new)."""
        if self._layout is None:
            # made before the copy, so that both and the copies after share it
            self._layout = _Layout(self.passable, self.res)
        other = copy.copy(self)
        other._allowed = other._layer(allowed)
        other.cost = other._cost()
        other._graph = other._edge_rows = other._edge_len = None
        other._searches = {}
        return other

    def allow_grid(self, mask: np.ndarray, origin_x: float, origin_y: float,
                   resolution: float) -> None:
        """Add the true cells of a raster (rows = y, e.g. the processed-ground grid), in place.

        Each router cell takes the raster cell under its centre: no polygons are built from a
        fine grid (a hectare at 0.1 m is a million cells), which is what makes a repair's
        router cost milliseconds on the node.
        """
        mask = np.asarray(mask, dtype=bool)
        if mask.ndim != 2 or not mask.size or not resolution > 0.0:
            return
        i = np.floor((self._grid[0] - origin_x) / resolution).astype(int)
        j = np.floor((self._grid[1] - origin_y) / resolution).astype(int)
        inside = (i >= 0) & (j >= 0) & (i < mask.shape[1]) & (j < mask.shape[0])
        hit = np.zeros_like(inside)
        hit[inside] = mask[j[inside], i[inside]]
        self._allowed |= hit
        self._reprice()

    def _reprice(self) -> None:
        """Costs (and a built graph's weights) from the allowed cells."""
        self.cost = self._cost()
        self._searches = {}
        if self._graph is not None:
            self._graph.data = 0.5 * (self.cost.ravel()[self._edge_rows] +
                                      self.cost.ravel()[self._graph.indices]) * self._edge_len

    def allow(self, geoms) -> None:
        """Add ``geoms`` (shapely polygons) to the allowed ground, in place.

        Only the cells under each polygon's bounds are tested, and a built graph has its
        weights updated, not rebuilt: ground processed since the raster was made (the strip
        the machine will have driven before a repair's cut) costs milliseconds.
        """
        changed = False
        for geom in geoms:
            if geom is None or geom.is_empty:
                continue
            minx, miny, maxx, maxy = geom.bounds
            i0 = max(0, int(math.floor((minx - self.x0) / self.res)))
            i1 = min(self.w, int(math.ceil((maxx - self.x0) / self.res)) + 1)
            j0 = max(0, int(math.floor((miny - self.y0) / self.res)))
            j1 = min(self.h, int(math.ceil((maxy - self.y0) / self.res)) + 1)
            if i0 >= i1 or j0 >= j1:
                continue
            self._allowed[j0:j1, i0:i1] |= polygon_cells(
                geom, self.x0 + i0 * self.res, self.y0 + j0 * self.res, self.res, i1 - i0,
                j1 - j0)
            changed = True
        if changed:
            self._reprice()

    def _cell(self, p: XY) -> Tuple[int, int]:
        return (int(math.floor((p[1] - self.y0) / self.res)),
                int(math.floor((p[0] - self.x0) / self.res)))

    def _centre(self, k: int) -> XY:
        return (self.x0 + (k % self.w + 0.5) * self.res, self.y0 + (k // self.w + 0.5) * self.res)

    def can_stand(self, p: XY) -> bool:
        """Whether base_link may be at ``p`` (a passable cell of the raster)."""
        j, i = self._cell(p)
        return 0 <= j < self.h and 0 <= i < self.w and bool(self.passable[j, i])

    def line_cost(self, a: XY, b: XY) -> float:
        """Cost of the straight leg a -> b (inf when it enters blocked ground)."""
        n = max(2, int(math.ceil(math.dist(a, b) / (0.5 * self.res))) + 1)
        i = np.floor((np.linspace(a[0], b[0], n) - self.x0) / self.res).astype(int)
        j = np.floor((np.linspace(a[1], b[1], n) - self.y0) / self.res).astype(int)
        if i.min() < 0 or j.min() < 0 or i.max() >= self.w or j.max() >= self.h:
            return math.inf
        if not self.passable[j, i].all():
            return math.inf
        c = self.cost[j, i]
        return float(0.5 * (c[:-1] + c[1:]).sum()) * math.dist(a, b) / (n - 1)

    def _build(self):
        """The 8-connected graph of passable cells (edges weighted by length x cost)."""
        if self._layout is None:
            self._layout = _Layout(self.passable, self.res)
        layout = self._layout
        vals = []
        for a, b, ok, step in layout.pairs:
            weight = 0.5 * (self.cost[a] + self.cost[b]) * step * self.res
            vals += [weight[ok], weight[ok]]
        self._graph = layout.graph(np.concatenate(vals))
        # each stored edge's cell and length, so :meth:`allow` can re-weight it in place
        self._edge_rows, self._edge_len = layout.rows, layout.length
        return self._graph

    def search(self, a: XY) -> Optional[Tuple[int, np.ndarray, np.ndarray]]:
        """The cheapest costs from ``a`` to every cell (None when ``a`` is not passable).

        One search serves many targets (:meth:`cost_to`, :meth:`route`).
        """
        from scipy.sparse.csgraph import dijkstra
        if not self.can_stand(a):
            return None
        j, i = self._cell(a)
        src = j * self.w + i
        # transits from one place (a lane's end, a pass's start) search again on the same
        # costs: the search is kept (its arrays are only read)
        found = self._searches.get(src)
        if found is None:
            graph = self._graph if self._graph is not None else self._build()
            dist, pred = dijkstra(graph, indices=src, return_predecessors=True)
            if len(self._searches) >= _MAX_SEARCHES:
                del self._searches[next(iter(self._searches))]
            found = self._searches[src] = (src, dist, pred)
        return found

    def cost_to(self, found, b: XY) -> float:
        """The cheapest cost of a :meth:`search` to ``b`` (inf when it cannot get there)."""
        if found is None or not self.can_stand(b):
            return math.inf
        j, i = self._cell(b)
        return float(found[1][j * self.w + i])

    def route(self, a: XY, b: XY, found=None) -> Optional[List[XY]]:
        """The cheapest points from ``a`` to ``b`` (both on passable cells), or None.

        ``found``: a :meth:`search` from ``a`` made before (else one is made now).
        """
        if not self.can_stand(b):
            return None
        found = found if found is not None else self.search(a)
        if found is None:
            return None
        src, dist, pred = found
        j, i = self._cell(b)
        dst = j * self.w + i
        if not math.isfinite(dist[dst]):
            return None
        chain = [dst]
        while chain[-1] != src:
            chain.append(int(pred[chain[-1]]))
        chain.reverse()
        # the cells where the chain changes direction (a straight run pulls to its ends)
        keep = [chain[0]] + [k for p, k, q in zip(chain[:-2], chain[1:-1], chain[2:])
                             if k - p != q - k] + [chain[-1]]
        # the ends go to their cells' centres first: a leg from an end straight to the next
        # turn could clip a blocked cell beside the chain
        mid = [a] + [self._centre(k) for k in keep] + [b]
        # a step's cost as the sampled line counts it, or the search's where that line counts
        # a blocked cell (a diagonal step passes the corner of two neighbours)
        chain_cost = np.concatenate([[0.0], dist[keep], [dist[dst]]])
        steps = [self.line_cost(p, q) for p, q in zip(mid[:-1], mid[1:])]
        steps = [s if math.isfinite(s) else float(d) for s, d in zip(steps, np.diff(chain_cost))]
        along = np.concatenate([[0.0], np.cumsum(steps)])
        # pull the string: a straight leg replaces a stretch when it costs no more (and never
        # when it enters blocked ground: its cost is infinite)
        out, k = [mid[0]], 0
        while k < len(mid) - 1:
            m = len(mid) - 1
            while m > k + 1 and not self.line_cost(mid[k], mid[m]) <= \
                    along[m] - along[k] + 1e-6:
                m -= 1
            out.append(mid[m])
            k = m
        return out


class _Layout:
    """The edges of the 8-connected graph of a raster's passable cells, and their CSR layout.

    Passable ground is fixed for a raster, its costs are not: the graph's weights are built
    per cost (:meth:`AllowedRouter._build`), its structure once. ``pairs``: per direction
    (the cells' slices a and b, which pairs are both passable, the step's length in cells);
    the edges are listed per direction, each both ways. The first graph is laid out by
    ``coo_matrix.tocsr`` as it always was (a router searched once, a repair's, pays nothing
    more); a later one (a copy's, :meth:`AllowedRouter.with_allowed`) puts its weights in
    that layout's order, found once. ``rows``, ``length``: each stored edge's cell and
    length, m.
    """

    def __init__(self, passable: np.ndarray, res: float) -> None:
        h, w = passable.shape
        self._n, self._w, self._res = h * w, w, res
        idx = np.arange(h * w).reshape(h, w)
        self.pairs = []
        rows, cols = [], []
        for dj, di in ((0, 1), (1, 0), (1, 1), (1, -1)):
            a = (slice(0, h - dj), slice(max(0, -di), w - max(0, di)))
            b = (slice(dj, h), slice(max(0, di), w - max(0, -di)))
            ok = passable[a] & passable[b]
            self.pairs.append((a, b, ok, math.hypot(dj, di)))
            u, v = idx[a][ok], idx[b][ok]
            rows += [u, v]
            cols += [v, u]
        self._edges = (np.concatenate(rows), np.concatenate(cols))
        self._csr = None            # (indices, indptr) of the first graph
        self._order: Optional[np.ndarray] = None
        self.rows = self.length = None

    def graph(self, vals: np.ndarray):
        """The CSR graph of the listed edges weighted ``vals`` (in the list's order)."""
        from scipy.sparse import coo_matrix, csr_matrix
        n = self._n
        if self._csr is None:
            graph = coo_matrix((vals, self._edges), shape=(n, n)).tocsr()
            self._csr = (graph.indices, graph.indptr)
            self.rows = np.repeat(np.arange(n), np.diff(graph.indptr))
            self.length = np.hypot(self.rows // self._w - graph.indices // self._w,
                                   self.rows % self._w - graph.indices % self._w) * self._res
            return graph
        if self._order is None:
            # each edge's place in the layout: its number laid out the same way (exact as a
            # float, fewer than 2^53 edges; the graph has no repeated edge to sum)
            numbers = np.arange(1.0, len(vals) + 1.0)
            laid = coo_matrix((numbers, self._edges), shape=(n, n)).tocsr()
            self._order = laid.data.astype(np.intp) - 1
        indices, indptr = self._csr
        return csr_matrix((vals[self._order], indices.copy(), indptr.copy()), shape=(n, n))


__all__ = ['AllowedRouter']
