"""Pure metric code of the mission scoreboard (``bench/missions.py``): numpy/shapely, no stack.

Everything here works on plain values (poses, a processed-ground grid, items, events, rows), so
it is tested on synthetic inputs without running a mission. The definitions are those of the
scoreboard's docstring; in short:

* **footprint violation**: a control tick at which a corner of a track's ground-contact patch
  lies on ground that is neither processed, nor outside the hazard field, nor declared safe
  (:class:`FootprintMonitor`, :func:`footprint_violated`);
* **mines left active in processed ground**: mines and UXO (not clutter) still live at the
  end (the simulator's item fates: not detonated, not destroyed; a thrown mine counts where it
  landed) whose position lies in a processed cell of the hazard field
  (:func:`truth_items_from_fates`, :func:`mines_left_active_in_processed_ground`);
* **people incidents**: a person inside the work safety distance of the tool while the flail or
  tiller turned or the vehicle moved (:class:`PeopleMonitor`, each approach once), plus any
  person-hit event (:func:`is_people_incident`);
* **rate vs limit**: clearance rate over ``tool_width_m * working_speed_mps * 3600``;
* **processed before scanned**: hazard-field ground the tool really processed (the
  simulator's truth raster) before the GPR/MD boom's swath had passed over it
  (:class:`ScanLeadMonitor`). The boom runs ahead of the tool so that an AT mine is found
  before the tool or a track reaches it; ground processed unscanned had no such guard;
* **tracks on unscanned ground**: hazard-field ground a track pressed before the boom's swath
  or the tool had passed over it and that the area does not declare safe
  (:class:`UnscannedTrackMonitor`): a mine there is one no sensor could have found, and an AT
  mine or a UXO there goes off under the machine (bench/missions.py gen_random seed 1 and
  gen_at_uxo_lanes seed 1 at 2ca6838, both in a pivot);
* the scoreboard's last line: :func:`aggregate`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import statistics
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import shapely

from demining_bringup.contract.datatypes import TRACK_CAUSE
from demining_bringup.contract.states import HAZARD_UNDER_TRACK

#: Keys of the scoreboard's JSON line, in order (exactly these).
SUMMARY_KEYS = ('missions', 'completed', 'at_detonations', 'people_incidents',
                'footprint_violations', 'hazards_under_tracks', 'suspects_under_tracks',
                'deadlocks',
                'mines_left_active_in_processed_ground',
                'false_no_go_zones', 'min_coverage_pct', 'min_coverage_workable_pct',
                'max_processed_before_scan_pct', 'tracks_on_unscanned_m2',
                'median_rate_vs_limit', 'median_rtf', 'wall_s')

#: Item kinds that are mines or UXO (clutter is not).
HAZARD_KINDS = ('AP', 'AT', 'UXO')

#: Event kinds that mean a person was hurt (none is emitted today; the people-sensor and actor
#: physics work may add them). Any event whose ``item_kind`` is ``person`` counts as well.
PERSON_HIT_KINDS = ('person_hit', 'casualty', 'injury', 'person_injured', 'person_killed')
PERSON_KINDS = ('person',)
#: Forward speed above which the vehicle counts as moving, m/s (odometry noise below it).
MOVING_SPEED_MPS = 0.02
#: Yaw rate above which a vehicle that does not move counts as pivoting, rad/s.
TURNING_RATE_RADPS = 0.02
#: How the machine moved at a violation tick (:func:`motion_of`), in the order reported.
MOTIONS = ('forward', 'reverse', 'pivot', 'standing')

_SECONDS_PER_HOUR = 3600.0
#: Track patches are judged at points this far apart (corners and edges included), m: a road
#: or a crater narrower than a track's length lies between its corners; none that bears a
#: machine is narrower than this.
TRACK_SAMPLE_M = 0.25


# --------------------------------------------------------------------------------------------
# Geometry of the tracks
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TrackGeometry:
    """The two tracks' ground-contact patches in base_link (x ahead, y left)."""

    gauge_m: float          # track centre to centre
    width_m: float          # width of one track
    length_m: float         # ground-contact length of one track, centred on base_link

    def corners_local(self, inset_m: float = 0.0) -> np.ndarray:
        """(8, 2) corners of the left then the right patch, each moved ``inset_m`` inwards.

        The inset is clamped so a patch never inverts (a degenerate patch is its centre line).
        """
        hl = max(self.length_m / 2.0 - inset_m, 0.0)
        hw = max(self.width_m / 2.0 - inset_m, 0.0)
        out = []
        for side in (1.0, -1.0):
            cy = side * self.gauge_m / 2.0
            out += [(hl, cy + hw), (hl, cy - hw), (-hl, cy - hw), (-hl, cy + hw)]
        return np.asarray(out, dtype=float)


@functools.lru_cache(maxsize=16)
def _track_lattice(geometry: TrackGeometry, inset_m: float, step_m: float) -> np.ndarray:
    """Base_link points of :func:`track_points` (the same for every pose: computed once)."""
    hl = max(geometry.length_m / 2.0 - inset_m, 0.0)
    hw = max(geometry.width_m / 2.0 - inset_m, 0.0)
    us = np.linspace(-hl, hl, max(2, int(math.ceil(2.0 * hl / step_m)) + 1))
    ws = np.linspace(-hw, hw, max(2, int(math.ceil(2.0 * hw / step_m)) + 1))
    uu, ww = np.meshgrid(us, ws)
    local = np.concatenate([np.column_stack([uu.ravel(), ww.ravel() + side * geometry.gauge_m
                                             / 2.0]) for side in (1.0, -1.0)])
    local.setflags(write=False)
    return local


def track_points(x: float, y: float, yaw: float, geometry: TrackGeometry,
                 inset_m: float = 0.0, step_m: float = TRACK_SAMPLE_M) -> np.ndarray:
    """(n, 2) map-frame points covering both track patches at the pose, ``step_m`` apart.

    A lattice over each patch (moved ``inset_m`` inwards like :meth:`corners_local`), its
    edges and corners included: a keep-out strip or an unprocessed sliver narrower than a
    track's length lies between the corners, not under them.
    """
    local = _track_lattice(geometry, float(inset_m), float(step_m))
    c, s = math.cos(yaw), math.sin(yaw)
    return np.column_stack([x + c * local[:, 0] - s * local[:, 1],
                            y + s * local[:, 0] + c * local[:, 1]])


def track_corners(x: float, y: float, yaw: float, geometry: TrackGeometry,
                  inset_m: float = 0.0) -> np.ndarray:
    """(8, 2) map-frame corners of both track patches at the pose (x, y, yaw)."""
    local = geometry.corners_local(inset_m)
    c, s = math.cos(yaw), math.sin(yaw)
    return np.column_stack([x + c * local[:, 0] - s * local[:, 1],
                            y + s * local[:, 0] + c * local[:, 1]])


# --------------------------------------------------------------------------------------------
# The processed-ground grid (duck-typed: demining_control.coverage.processed.ProcessedGrid)
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class GridView:
    """The parts of a processed grid the metrics read (rows = y, columns = x).

    ``mask`` marks cells of the hazard field (field minus exclusion zones), ``processed`` the
    cells the tool swept. Cell (i, j) spans ``x in origin_x + [j, j + 1) * resolution`` and
    ``y in origin_y + [i, i + 1) * resolution``. Any object with these attributes works
    (a :class:`ProcessedGrid` does).
    """

    mask: np.ndarray
    processed: np.ndarray
    origin_x: float
    origin_y: float
    resolution: float


def cells_of(grid: Any, xs, ys) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row and column of the cell holding each point, and whether it is on the grid."""
    return _cells(grid.origin_x, grid.origin_y, grid.resolution, np.shape(grid.mask), xs, ys)


def _cells(x0: float, y0: float, res: float, shape: Tuple[int, int], xs, ys
           ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`cells_of` on a raster given by its corner, cell size and (rows, cols)."""
    fx = (np.asarray(xs, dtype=float) - x0) / res
    fy = (np.asarray(ys, dtype=float) - y0) / res
    rows, cols = shape
    # a NaN (no pose) or infinite coordinate fails these comparisons: off the grid
    on = (fx >= 0.0) & (fx < cols) & (fy >= 0.0) & (fy < rows)
    i = np.zeros(np.shape(on), dtype=np.intp)
    j = np.zeros(np.shape(on), dtype=np.intp)
    i[on] = fy[on]                        # truncation is floor for the non-negative
    j[on] = fx[on]
    return i, j, on


def in_hazard_field(grid: Any, xs, ys) -> np.ndarray:
    """True where a point lies in a cell of the hazard field (off the grid is outside)."""
    i, j, on = cells_of(grid, xs, ys)
    return on & np.asarray(grid.mask)[i, j]


def in_processed_hazard(grid: Any, xs, ys) -> np.ndarray:
    """True where a point lies in a processed cell of the hazard field."""
    i, j, on = cells_of(grid, xs, ys)
    return on & np.asarray(grid.mask)[i, j] & np.asarray(grid.processed)[i, j]


def unsafe_points(grid: Any, xs, ys,
                  declared_safe: Optional[Callable[[np.ndarray, np.ndarray], np.ndarray]] = None,
                  processed: Optional[Callable[[np.ndarray, np.ndarray], np.ndarray]] = None,
                  field_only: bool = True,
                  keep_out: Optional[Callable[[np.ndarray, np.ndarray], np.ndarray]] = None
                  ) -> np.ndarray:
    """True where a point is on ground a track may not be on.

    ``field_only`` (the default): a point in the hazard field (the grid's mask), unprocessed
    and not declared safe. Else the rule of allowed ground (issue 7): anywhere, a point that
    is neither processed nor declared safe, or that lies in ``keep_out`` (exclusion zones:
    processed or not) and is not declared safe (a safe area declared over a road).
    Processed: ``processed(xs, ys)`` when given (e.g. :func:`truth_processed`, the ground the
    tool really processed), else the grid's own processed cells (off the grid: none).
    """
    i, j, on = cells_of(grid, xs, ys)
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    done = (on & np.asarray(grid.processed)[i, j] if processed is None
            else np.asarray(processed(xs, ys), dtype=bool))
    if field_only:
        bad = on & np.asarray(grid.mask)[i, j] & ~done
    else:
        bad = np.isfinite(xs) & np.isfinite(ys) & ~done
        if keep_out is not None:
            bad |= np.asarray(keep_out(xs, ys), dtype=bool)
    if declared_safe is not None and bad.any():
        idx = np.nonzero(bad)[0]
        bad[idx] &= ~np.asarray(declared_safe(xs[idx], ys[idx]), dtype=bool)
    return bad


def truth_processed(raster: Any) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A vectorised ``(xs, ys) -> really processed`` test on the simulator's truth raster.

    ``raster`` has ``x0``, ``y0``, ``res`` and ``depth`` (rows = y; > 0 where the tool
    processed: :class:`demining_sim.truth.ProcessedTruth`), read at every call (it grows).
    Off the raster nothing is processed.
    """
    def processed(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        depth = np.asarray(raster.depth)
        i, j, on = _cells(raster.x0, raster.y0, raster.res, depth.shape, xs, ys)
        return on & (depth[i, j] > 0.0)
    return processed


def rasterised(test: Callable[[np.ndarray, np.ndarray], np.ndarray], grid: Any
               ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``test`` answered from its value at each cell centre of ``grid`` (computed once).

    Points off the grid are passed to ``test`` itself. For the fixed geometry (declared safe
    ground, exclusion zones) a monitor asks about hundreds of points every tick.
    """
    rows, cols = np.shape(grid.mask)
    xs = grid.origin_x + (np.arange(cols) + 0.5) * grid.resolution
    ys = grid.origin_y + (np.arange(rows) + 0.5) * grid.resolution
    gx, gy = np.meshgrid(xs, ys)
    table = np.asarray(test(gx.ravel(), gy.ravel()), dtype=bool).reshape(rows, cols)

    def cached(px: np.ndarray, py: np.ndarray) -> np.ndarray:
        i, j, on = cells_of(grid, px, py)
        out = on & table[i, j]
        off = ~on
        if off.any():
            out[off] = np.asarray(test(np.asarray(px, dtype=float)[off],
                                       np.asarray(py, dtype=float)[off]), dtype=bool)
        return out
    return cached


def polygons_contain(polygons: Sequence[Any]
                     ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A vectorised ``(xs, ys) -> inside any polygon`` test (boundary included).

    ``polygons``: vertex lists or shapely geometries (an empty one holds nothing).
    """
    geoms = [p if isinstance(p, shapely.Geometry) else shapely.Polygon(p)
             for p in polygons if isinstance(p, shapely.Geometry) or len(p) >= 3]
    geoms = [g for g in geoms if not g.is_empty]
    for g in geoms:
        shapely.prepare(g)

    def inside(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        xs = np.asarray(xs, dtype=float)
        ys = np.asarray(ys, dtype=float)
        out = np.zeros(np.broadcast(xs, ys).shape, dtype=bool)
        for g in geoms:
            out |= shapely.intersects_xy(g, xs, ys)
        return out
    return inside


# --------------------------------------------------------------------------------------------
# Footprint violations
# --------------------------------------------------------------------------------------------

def unsafe_track_points(x: float, y: float, yaw: float, grid: Any, geometry: TrackGeometry,
                        declared_safe: Optional[Callable] = None,
                        inset_m: Optional[float] = None,
                        processed: Optional[Callable] = None, field_only: bool = True,
                        keep_out: Optional[Callable] = None) -> np.ndarray:
    """The track patches' sample points at this pose that are on ground a track may not be
    on (k x 2; none for a non-finite pose).

    The patches are sampled :data:`TRACK_SAMPLE_M` apart (:func:`track_points`).
    ``inset_m`` (default: half a grid cell) moves each corner inwards so the grid's own
    quantisation cannot flag a track whose edge runs exactly along the processed strip's edge.
    ``processed``, ``field_only`` and ``keep_out`` as in :func:`unsafe_points`.
    """
    if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(yaw)):
        return np.zeros((0, 2))
    inset = 0.5 * float(grid.resolution) if inset_m is None else float(inset_m)
    pts = track_points(x, y, yaw, geometry, inset)
    return pts[unsafe_points(grid, pts[:, 0], pts[:, 1], declared_safe, processed,
                             field_only, keep_out)]


def footprint_violated(x: float, y: float, yaw: float, grid: Any, geometry: TrackGeometry,
                       declared_safe: Optional[Callable] = None,
                       inset_m: Optional[float] = None,
                       processed: Optional[Callable] = None, field_only: bool = True,
                       keep_out: Optional[Callable] = None) -> bool:
    """True when a point of a track patch at this pose is on ground a track may not be on
    (:func:`unsafe_track_points`)."""
    return len(unsafe_track_points(x, y, yaw, grid, geometry, declared_safe, inset_m,
                                   processed, field_only, keep_out)) > 0


def motion_of(v: float, omega: float) -> str:
    """How the machine moves: ``forward`` or ``reverse`` (an arc too), ``pivot`` (turning
    in place) or ``standing`` (:data:`MOVING_SPEED_MPS`, :data:`TURNING_RATE_RADPS`)."""
    if abs(v) > MOVING_SPEED_MPS:
        return 'forward' if v > 0.0 else 'reverse'
    return 'pivot' if abs(omega) > TURNING_RATE_RADPS else 'standing'


class FootprintMonitor:
    """Counts control ticks with a footprint violation (feed it the truth pose every tick)."""

    def __init__(self, grid: Any, geometry: TrackGeometry,
                 declared_safe: Optional[Callable] = None,
                 inset_m: Optional[float] = None,
                 processed: Optional[Callable] = None, field_only: bool = True,
                 keep_out: Optional[Callable] = None) -> None:
        """Check against ``grid`` (read at every tick: it may change in place).

        ``processed``, ``field_only`` and ``keep_out``: the rule, as in
        :func:`unsafe_points`.
        """
        self.grid = grid
        self.geometry = geometry
        self.declared_safe = declared_safe
        self.inset_m = inset_m
        self.processed = processed
        self.field_only = field_only
        self.keep_out = keep_out
        #: (t, x, y) of every violation tick (for the mission's footprint map), and how the
        #: machine moved at each (:func:`motion_of`; '' when not given).
        self.where: List[Tuple[float, float, float]] = []
        self.motions: List[str] = []
        self.ticks = 0
        self.violations = 0
        #: Violation ticks by how the machine moved (:data:`MOTIONS`; with ``v`` given): a
        #: machine standing with a track on such ground adds a tick every step, the ones
        #: that moved onto it say which motion took it there.
        self.by_motion: Dict[str, int] = dict.fromkeys(MOTIONS, 0)
        #: Simulated seconds by how the machine moved, every tick (with ``v`` given): where
        #: the mission's time went (a pivot the tracks' grip can barely pay for is slow).
        self.seconds_by_motion: Dict[str, float] = dict.fromkeys(MOTIONS, 0.0)
        self._last_t: Optional[float] = None
        #: Cells (:data:`TRACK_SAMPLE_M` square) a track pressed while they were not allowed.
        self._trodden: set = set()
        self.first: Optional[Tuple[float, float, float]] = None   # (t, x, y)

    @property
    def violation_m2(self) -> float:
        """Ground a track pressed while it was not allowed, m^2 (the track patches' sample
        points, :data:`TRACK_SAMPLE_M` apart, in cells of that size): the exposure, which
        the tick count mixes with how long the machine stood or how slowly it drove."""
        return len(self._trodden) * TRACK_SAMPLE_M ** 2

    def check(self, t: float, x: float, y: float, yaw: float, v: Optional[float] = None,
              omega: float = 0.0) -> bool:
        """Count one tick at the pose (``v``, ``omega``: the true motion, for
        :attr:`by_motion`); return whether it is a violation."""
        self.ticks += 1
        motion = motion_of(v, omega) if v is not None else ''
        if motion and self._last_t is not None and t > self._last_t:
            self.seconds_by_motion[motion] += t - self._last_t
        self._last_t = float(t)
        unsafe = unsafe_track_points(x, y, yaw, self.grid, self.geometry, self.declared_safe,
                                     self.inset_m, self.processed, self.field_only,
                                     self.keep_out)
        bad = len(unsafe) > 0
        if bad:
            cells = np.floor(unsafe / TRACK_SAMPLE_M).astype(np.int64)
            self._trodden.update(map(tuple, cells.tolist()))
            self.violations += 1
            if motion:
                self.by_motion[motion] += 1
            self.motions.append(motion)
            self.where.append((float(t), float(x), float(y)))
            if self.first is None:
                self.first = self.where[0]
        return bad


def count_footprint_violations(poses: Iterable[Tuple[float, float, float]], grid: Any,
                               geometry: TrackGeometry, declared_safe: Optional[Callable] = None,
                               inset_m: Optional[float] = None,
                               processed: Optional[Callable] = None, field_only: bool = True,
                               keep_out: Optional[Callable] = None) -> int:
    """Ticks (one pose each) with a footprint violation, on a fixed grid."""
    mon = FootprintMonitor(grid, geometry, declared_safe, inset_m, processed, field_only,
                           keep_out)
    for k, (x, y, yaw) in enumerate(poses):
        mon.check(float(k), x, y, yaw)
    return mon.violations


class ScanLeadMonitor:
    """Ground the tool processed before the sensor boom scanned it (feed it every tick).

    ``processed`` is the simulator's truth raster of processed ground
    (:class:`demining_sim.truth.ProcessedTruth`: ``depth`` > 0 where processed; its
    ``window`` gives the cells of a rectangle at a pose); the boom is
    ``sensor_width_m`` wide, ``sensor_offset_m`` ahead of base_link, and stamps ``reach_m``
    either side of its line at each tick (the travel between two ticks); the tool's window
    (``tool_offset_m`` ahead, ``tool_reach_m`` round it) is where newly processed cells are
    looked for. A processed cell counts once, when first seen processed.
    """

    def __init__(self, processed: Any, sensor_offset_m: float, sensor_width_m: float,
                 tool_offset_m: float, tool_reach_m: float, reach_m: float = 0.1,
                 in_field: Optional[Callable] = None) -> None:
        """Scan nothing yet; ``in_field(xs, ys)``: the ground :attr:`where` counts (None:
        all)."""
        self.processed = processed
        self.in_field = in_field
        self.sensor_offset_m = sensor_offset_m
        self.half_sensor = 0.5 * sensor_width_m
        self.tool_offset_m = tool_offset_m
        self.tool_reach_m = tool_reach_m
        self.reach_m = reach_m
        shape = (processed.ny, processed.nx)
        self.scanned = np.zeros(shape, dtype=bool)
        self.seen = np.zeros(shape, dtype=bool)
        self.unscanned = np.zeros(shape, dtype=bool)
        #: (t, x, y, m^2) of every tick whose newly processed ground (in the field, with
        #: ``in_field``) the boom had not scanned: base_link then and that ground's area
        #: (``processed_before_scan.csv``).
        self.where: List[Tuple[float, float, float, float]] = []

    def check(self, x: float, y: float, yaw: float, t: float = math.nan) -> None:
        """Stamp the boom's swath at the pose, then judge the ground processed since (``t``:
        the tick's time, for :attr:`where`)."""
        c, s = math.cos(yaw), math.sin(yaw)
        win = self.processed.window(x + c * self.sensor_offset_m,
                                    y + s * self.sensor_offset_m, yaw, self.reach_m,
                                    self.reach_m, self.half_sensor)
        if win is not None:
            rows, cols, inside = win
            self.scanned[rows, cols] |= inside
        r = self.tool_reach_m
        win = self.processed.window(x + c * self.tool_offset_m,
                                    y + s * self.tool_offset_m, yaw, r, r, r)
        if win is None:
            return
        rows, cols, _ = win
        done = self.processed.depth[rows, cols] > 0.0
        new = done & ~self.seen[rows, cols]
        if new.any():
            blind = new & ~self.scanned[rows, cols]
            self.unscanned[rows, cols] |= blind
            self.seen[rows, cols] |= done
            if blind.any():
                self._note(t, x, y, rows, cols, blind)

    def _note(self, t: float, x: float, y: float, rows: slice, cols: slice,
              blind: np.ndarray) -> None:
        """Add the tick to :attr:`where` with the area of ``blind`` (the window's cells just
        processed unscanned) in the field."""
        p = self.processed
        n = np.count_nonzero(blind)
        if self.in_field is not None:
            iy, ix = np.nonzero(blind)
            n = np.count_nonzero(np.asarray(self.in_field(
                p.x0 + (cols.start + ix + 0.5) * p.res, p.y0 + (rows.start + iy + 0.5) * p.res),
                dtype=bool))
        if n:
            self.where.append((float(t), float(x), float(y), float(n) * p.res ** 2))

    def areas_m2(self, in_field: Optional[Callable] = None) -> Tuple[float, float]:
        """(processed, processed before scanned) m^2, within ``in_field(xs, ys)`` if given."""
        seen, uns = self.seen, self.unscanned
        if in_field is not None:
            iy, ix = np.nonzero(seen)
            p = self.processed
            keep = np.asarray(in_field(p.x0 + (ix + 0.5) * p.res, p.y0 + (iy + 0.5) * p.res),
                              dtype=bool)
            cell = p.res * p.res
            return (float(np.count_nonzero(keep)) * cell,
                    float(np.count_nonzero(keep & uns[iy, ix])) * cell)
        cell = self.processed.res ** 2
        return float(np.count_nonzero(seen)) * cell, float(np.count_nonzero(uns)) * cell


class UnscannedTrackMonitor:
    """Hazard-field ground a track pressed before any sensor or the tool had passed over it.

    Fed the truth pose every tick after ``scan`` (:class:`ScanLeadMonitor`, whose ``scanned``
    raster is the boom's swath so far), it samples both track patches (:func:`track_points`,
    moved half a raster cell inwards) and keeps the points that lie in the hazard field
    (``in_field``), on ground the tool has not really processed (``scan.processed``'s truth
    depth), outside the boom's swath so far and not declared safe (``declared_safe``). The
    GPR/MD boom runs ahead so that an AT mine is found before a track reaches it
    (docs/architecture.md, "Vehicle concept"); such a point had no such guard, whatever the
    detector's quality. Pivots are the usual cause: the tracks' ends swing out past the
    boom's half width (lead_in.blind_pivots in demining_control/coverage).
    """

    def __init__(self, scan: ScanLeadMonitor, geometry: TrackGeometry,
                 in_field: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 declared_safe: Optional[Callable] = None) -> None:
        """Nothing pressed yet."""
        self.scan = scan
        self.geometry = geometry
        self.in_field = in_field
        self.declared_safe = declared_safe
        #: Cells (:data:`TRACK_SAMPLE_M` square) pressed while unscanned.
        self._trodden: set = set()
        #: Ticks that pressed such ground first, by how the machine moved (:data:`MOTIONS`).
        self.by_motion: Dict[str, int] = dict.fromkeys(MOTIONS, 0)
        #: (t, x, y) of every such tick and how the machine moved at each.
        self.where: List[Tuple[float, float, float]] = []
        self.motions: List[str] = []

    @property
    def area_m2(self) -> float:
        """Ground pressed while unscanned, m^2 (cells of :data:`TRACK_SAMPLE_M`)."""
        return len(self._trodden) * TRACK_SAMPLE_M ** 2

    @property
    def first(self) -> Optional[Tuple[float, float, float]]:
        """The first such tick (t, x, y), or None."""
        return self.where[0] if self.where else None

    def check(self, t: float, x: float, y: float, yaw: float, v: float = 0.0,
              omega: float = 0.0) -> bool:
        """Judge one tick at the pose; return whether a track pressed unscanned ground it
        had not pressed before."""
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(yaw)):
            return False
        raster = self.scan.processed
        pts = track_points(x, y, yaw, self.geometry, 0.5 * float(raster.res))
        i, j, on = _cells(raster.x0, raster.y0, raster.res, self.scan.scanned.shape,
                          pts[:, 0], pts[:, 1])
        # off the raster nothing was scanned nor processed
        blind = ~on | ~(self.scan.scanned[i, j] | (np.asarray(raster.depth)[i, j] > 0.0))
        if blind.any():
            blind &= np.asarray(self.in_field(pts[:, 0], pts[:, 1]), dtype=bool)
        if blind.any() and self.declared_safe is not None:
            blind &= ~np.asarray(self.declared_safe(pts[:, 0], pts[:, 1]), dtype=bool)
        if not blind.any():
            return False
        cells = set(map(tuple, np.floor(pts[blind] / TRACK_SAMPLE_M).astype(np.int64)
                        .tolist()))
        if cells <= self._trodden:
            # pressed already (the tracks' rear still on the ground they were put down on):
            # no new exposure
            return False
        self._trodden |= cells
        motion = motion_of(v, omega)
        self.by_motion[motion] += 1
        self.motions.append(motion)
        self.where.append((float(t), float(x), float(y)))
        return True


# --------------------------------------------------------------------------------------------
# Truth at the end
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TruthItem:
    """An item as the simulator knows it at the end (position may have changed)."""

    name: str
    kind: str
    x: float
    y: float
    active: bool          # not neutralised, not detonated


def truth_items_from_fates(fates: Iterable[Any]) -> List[TruthItem]:
    """Truth items from the simulator's item fates (:meth:`Simulator.item_fates`).

    A fate's current position (a thrown mine lies where it landed) and ``live`` (neither
    detonated nor destroyed: intact, damaged, thrown or pushed deeper mines are still live) are
    what :func:`mines_left_active_in_processed_ground` needs.
    """
    return [TruthItem(str(f.name), _kind(f.kind), float(f.x), float(f.y), bool(f.live))
            for f in fates]


def _kind(value: Any) -> str:
    return str(getattr(value, 'value', value))


def false_no_go_zones(zones: Iterable[Sequence[float]], items: Iterable[TruthItem]) -> int:
    """No-go discs ``(x, y, radius)`` with no AT mine or UXO inside (wherever it is now).

    Such a zone is ground a manual team is sent to for nothing and that the machine leaves
    unprocessed: the cost of a false AT/UXO label (issue 12).
    """
    heavy = [(it.x, it.y) for it in items if _kind(it.kind) in ('AT', 'UXO')]
    return sum(1 for x, y, r in zones
               if not any(math.hypot(x - hx, y - hy) <= r for hx, hy in heavy))


def hazards_under_tracks(events: Iterable[Any]) -> int:
    """Mines and UXO that a track reached before the tool did: set off, damaged, pushed or
    thrown by a track (a /sim/events cause naming a track: :data:`TRACK_CAUSE`, as
    :attr:`SimEvent.under_track` reads it; events here may be dicts as well).

    The tool is meant to work every hazard before the tracks come to it (a flail machine's
    armour is rated for blasts under the tool, not under the tracks); this counts what the
    footprint violations cost.
    """
    return len({_field(ev, 'item_id') for ev in events
                if _field(ev, 'item_kind') in HAZARD_KINDS
                and TRACK_CAUSE in _field(ev, 'detail')})


def suspects_under_tracks(safety_events: Iterable[Any]) -> int:
    """Detected suspects (AP or unknown tracks) a motion put a track on before the tool had
    processed them: the supervisor's records and refusals (its :data:`HAZARD_UNDER_TRACK`
    events, one record a suspect)."""
    return sum(1 for e in safety_events if HAZARD_UNDER_TRACK in str(_field(e, 'reason')))


def mines_left_active_in_processed_ground(items: Iterable[TruthItem], grid: Any,
                                          no_go: Sequence[Tuple[float, float, float]] = ()
                                          ) -> int:
    """Mines/UXO still active whose position lies in a processed cell of the hazard field,
    outside the report's no-go zones ``no_go`` (x, y, radius): ground the record leaves for
    a manual or EOD team, not released as processed (:func:`demining_bringup.report.
    cleared_polygon`)."""
    live = [it for it in items if it.active and _kind(it.kind) in HAZARD_KINDS]
    if not live:
        return 0
    xs = np.array([it.x for it in live], dtype=float)
    ys = np.array([it.y for it in live], dtype=float)
    hit = in_processed_hazard(grid, xs, ys)
    for x, y, r in no_go:
        hit &= np.hypot(xs - x, ys - y) > r
    return int(hit.sum())


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------

def _field(ev: Any, name: str) -> str:
    if isinstance(ev, Mapping):
        return str(ev.get(name, '') or '')
    return str(getattr(ev, name, '') or '')


def is_people_incident(ev: Any) -> bool:
    """A simulator event that hurt a person (a person-hit kind).

    A person merely near the machine is no incident (the scoreboard lists every actor's
    ``intrusion`` events as ``intrusions``); one inside the work safety distance while the
    machine was hazardous is, counted by :class:`PeopleMonitor`.
    """
    return _field(ev, 'kind') in PERSON_HIT_KINDS


class PeopleMonitor:
    """Counts people incidents: a person inside the work safety distance of the tool while a
    rotor turned or the vehicle moved (the stack's promise, issue 8: IMAS 10.20's safety
    distance round a working flail, inside which the flail and the vehicle stop).

    Feed it the truth every tick (:meth:`check`); each person's approach counts once, until
    the person is out of the distance again or the machine is safe.
    """

    def __init__(self, safety_distance_m: float, tool_offset_x_m: float,
                 rotor_running_radps: float, moving_mps: float = MOVING_SPEED_MPS) -> None:
        """Judge against the profile's distance, tool position and running rotor speed."""
        self.distance = float(safety_distance_m)
        self.offset = float(tool_offset_x_m)
        self.running = float(rotor_running_radps)
        self.moving = float(moving_mps)
        self.incidents = 0
        self.first: Optional[Tuple[float, str, float]] = None   # (t, name, distance)
        self._inside: set = set()

    def check(self, t: float, x: float, y: float, yaw: float, speed: float,
              rotor_speeds: Sequence[float],
              people: Iterable[Tuple[str, float, float]]) -> int:
        """Count the incidents that begin at ``t``; ``people``: (name, x, y) present now."""
        hazardous = abs(speed) > self.moving or any(abs(w) > self.running
                                                    for w in rotor_speeds)
        tx, ty = x + self.offset * math.cos(yaw), y + self.offset * math.sin(yaw)
        new = 0
        inside = set()
        for name, px, py in people:
            d = math.hypot(px - tx, py - ty)
            if hazardous and d < self.distance:
                inside.add(name)
                if name not in self._inside:
                    new += 1
                    if self.first is None:
                        self.first = (float(t), name, round(d, 2))
        self._inside = inside
        self.incidents += new
        return new


def count_events(events: Iterable[Any], *kinds: str) -> int:
    """Number of events whose kind is one of ``kinds``."""
    return sum(1 for ev in events if _field(ev, 'kind') in kinds)


# --------------------------------------------------------------------------------------------
# Rates and limits
# --------------------------------------------------------------------------------------------

def rate_limit_m2_per_h(tool_width_m: float, working_speed_mps: float) -> float:
    """The machine's clearance-rate ceiling: tool width x working speed, m^2/h."""
    return float(tool_width_m) * float(working_speed_mps) * _SECONDS_PER_HOUR


def rate_vs_limit(rate_m2_per_h: Optional[float], tool_width_m: float,
                  working_speed_mps: float) -> Optional[float]:
    """Clearance rate over the ceiling (None when there is no rate or no ceiling)."""
    limit = rate_limit_m2_per_h(tool_width_m, working_speed_mps)
    if rate_m2_per_h is None or not limit > 0.0 or not math.isfinite(float(rate_m2_per_h)):
        return None
    return float(rate_m2_per_h) / limit


# --------------------------------------------------------------------------------------------
# The scoreboard line
# --------------------------------------------------------------------------------------------

def _numbers(rows: Sequence[Mapping[str, Any]], key: str) -> List[float]:
    out = []
    for r in rows:
        v = r.get(key)
        if isinstance(v, bool) or v is None:
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def _rounded(value: Optional[float], digits: int) -> Optional[float]:
    return None if value is None else round(float(value), digits)


def aggregate(rows: Sequence[Mapping[str, Any]], wall_s: float) -> Dict[str, Any]:
    """The scoreboard's JSON line from the mission rows (errored rows included).

    Counts sum over the rows that measured them; an errored row counts as a mission, never as
    completed, and contributes to no sum, minimum or median (its values are missing). Minimum
    and medians are ``None`` when no row measured them.
    """
    def total(key: str) -> int:
        return int(sum(_numbers(rows, key)))

    cov = _numbers(rows, 'coverage_pct')
    cov_workable = _numbers(rows, 'coverage_workable_pct')
    rates = _numbers(rows, 'rate_vs_limit')
    rtfs = _numbers(rows, 'rtf')
    unscanned = _numbers(rows, 'processed_before_scan_pct')
    out = {
        'missions': len(rows),
        'completed': sum(1 for r in rows if r.get('completed') is True),
        'at_detonations': total('at_detonations'),
        'people_incidents': total('people_incidents'),
        'footprint_violations': total('footprint_violations'),
        'hazards_under_tracks': total('hazards_under_tracks'),
        'suspects_under_tracks': total('suspects_under_tracks'),
        'deadlocks': sum(1 for r in rows if r.get('deadlock') is True),
        'mines_left_active_in_processed_ground': total('mines_left_active_in_processed_ground'),
        'false_no_go_zones': total('false_no_go_zones'),
        'min_coverage_pct': _rounded(min(cov), 3) if cov else None,
        'min_coverage_workable_pct': _rounded(min(cov_workable), 3) if cov_workable else None,
        'max_processed_before_scan_pct': _rounded(max(unscanned), 2) if unscanned else None,
        'tracks_on_unscanned_m2': _rounded(sum(_numbers(rows, 'tracks_on_unscanned_m2')), 2),
        'median_rate_vs_limit': _rounded(statistics.median(rates), 4) if rates else None,
        'median_rtf': _rounded(statistics.median(rtfs), 2) if rtfs else None,
        'wall_s': round(float(wall_s), 1),
    }
    assert tuple(out) == SUMMARY_KEYS
    return out


__all__ = ['FootprintMonitor', 'GridView', 'HAZARD_KINDS',
           'PERSON_HIT_KINDS', 'SUMMARY_KEYS', 'ScanLeadMonitor', 'TrackGeometry', 'TruthItem',
           'UnscannedTrackMonitor',
           'aggregate',
           'cells_of', 'count_events', 'count_footprint_violations', 'false_no_go_zones',
           'footprint_violated', 'hazards_under_tracks', 'MOTIONS', 'motion_of',
           'suspects_under_tracks',
           'unsafe_track_points',
           'in_hazard_field', 'in_processed_hazard', 'is_people_incident', 'PeopleMonitor',
           'mines_left_active_in_processed_ground', 'polygons_contain', 'rasterised',
           'rate_limit_m2_per_h',
           'rate_vs_limit', 'track_corners',
           'track_points',
           'truth_items_from_fates',
           'truth_processed', 'unsafe_points']
