"""Allowed ground under the tracks' predicted footprint, for the safety supervisor (pure core).

The rule is the one every layer shares (:mod:`demining_control.coverage.allowed`, "allowed
ground, one geometry for everyone"): the tracks, the parts of the machine that press the
ground, may only be on ground the tool has processed or on ground the area declares safe
(:meth:`demining_bringup.contract.area.HazardArea.safe_ground`: approach lanes, safe areas, a
safe margin). Buried mines are pressure-initiated (IMAS 04.10, "mine"), and mechanical
clearance works by the tool reaching the ground before the tracks do (GICHD, *A Study of
Mechanical Application in Demining*, 2004). The supervisor applies it to every motion command
before passing it on: forward, reverse and pivot.

What counts as allowed here, on the raster of :class:`demining_control.coverage.allowed.Raster`:

* declared safe ground (the area file);
* processed ground: the mission's ``/coverage/processed`` grid (merged as it arrives, ~1 Hz),
  and, for the ground processed since its last publication, the supervisor's own marking of
  the tool's sweep between the poses it judges while the measured tool works (the mission
  manager's rule, :meth:`demining_control.coverage.processed.ProcessedGrid.update`);
* the machine's parked position: the tracks' footprint at the first pose judged (the machine
  stands there; it got there on ground the supervisor cannot know);
* ground under the tracks now (it is pressed already; refusing a motion because of it would
  pin the machine after a pose correction: what is judged is the new ground a motion reaches);
* ground the working tool will process before the tracks arrive: the tool works
  ``tool_offset_x_m`` ahead of base_link, in front of the tracks, so a forward work motion
  whose tracks stay in the tool's predicted sweep is allowed.

A motion is placed along the command over a horizon (poses at equal steps, the tracks' swept
hull between consecutive poses, the tool's sweep up to each pose); the tracks' rectangle is
inset by a tolerance (raster cell and localisation noise) as in
:func:`demining_control.coverage.allowed.check_path`.
"""

from __future__ import annotations

import enum
import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from demining_bringup.contract.topics import PROCESSED_VALUE
from demining_control.coverage.allowed import ContactParams, Raster
from demining_control.coverage.processed import convex_cells_many, convex_hull, hull_vertices

#: Largest yaw change of one marked or predicted tool step, rad (the swept hull stays close to
#: the true annulus sector; the value of demining_control/coverage/processed.py).
_MAX_STEP_YAW_RAD = 0.05
#: A pose step longer than this is a localisation jump, not motion: the tool marks nothing, m
#: (the mission's processed-ground rule, demining_control/coverage/processed.py).
_MAX_MARK_STEP_M = 5.0
#: A grid is on the raster's cells when its origin sits within this part of a cell of one...
_ALIGN_TOL = 1e-6
#: ... and its resolution's error, summed over its width, stays below this part of a cell.
_DRIFT_TOL = 1e-3
#: Below this |v| a motion with a yaw rate is a pivot, m/s.
_PIVOT_SPEED_MPS = 1e-3


class Motion(str, enum.Enum):
    """Kind of a commanded motion (the refusal's reason names it)."""

    FORWARD = 'forward'
    REVERSE = 'reverse'
    PIVOT = 'pivot'


def motion_kind(v: float, omega: float) -> Optional[Motion]:
    """Kind of the motion (v, omega); None when it stands."""
    if v > _PIVOT_SPEED_MPS:
        return Motion.FORWARD
    if v < -_PIVOT_SPEED_MPS:
        return Motion.REVERSE
    return Motion.PIVOT if omega != 0.0 else None


class AllowedGround:
    """Ground the tracks may reach, and the judgement of a motion against it."""

    def __init__(self, bounds: Tuple[float, float, float, float], contact: ContactParams,
                 safe_ground=None) -> None:
        """Allocate the raster over ``bounds`` (the geofence's) and mark declared safe ground.

        :raises ValueError: when the raster exceeds its memory bound (use a coarser
            ``contact.resolution_m``).
        """
        self.contact = contact
        self.raster = Raster(bounds, contact.resolution_m)
        #: Allowed cells (declared, processed, parked); only ever grows.
        self.allowed = self.raster.layer(safe_ground)
        self._parked = False
        self._last_tool: Optional[Tuple[float, float, float]] = None
        self._grid_map: Dict[tuple, tuple] = {}
        #: Where the last refused motion first reaches ground not allowed (map frame).
        self.refused_at: Optional[Tuple[float, float]] = None
        #: Suspects the tracks may not press on ground not allowed: rows of (x, y, radius).
        self.hazards = np.zeros((0, 3))
        #: The suspect (its centre) the last judged motion's tracks would press (None: none).
        self.hazard_at: Optional[Tuple[float, float]] = None

    # -- what is allowed ---------------------------------------------------------------------

    def _or_quad(self, target: np.ndarray, quad: np.ndarray,
                 origin: Tuple[int, int] = (0, 0)) -> None:
        """OR the cells inside a convex polygon into ``target`` (a window at ``origin``)."""
        rows, cols, mask = self.raster.window(quad)
        if not mask.size:
            return
        j0, i0 = origin
        h, w = target.shape
        a, b = max(rows.start, j0), min(rows.stop, j0 + h)
        c, d = max(cols.start, i0), min(cols.stop, i0 + w)
        if b <= a or d <= c:
            return
        target[a - j0:b - j0, c - i0:d - i0] |= mask[a - rows.start:b - rows.start,
                                                     c - cols.start:d - cols.start]

    def _track_corners(self, x: float, y: float, yaw: float, inset: float) -> list:
        """The tracks' rectangle at a pose, as a list of corners (python floats)."""
        c = self.contact
        half = 0.5 * c.track_length_m - inset
        side = c.contact_half_width_m - inset
        ca, sa = math.cos(yaw), math.sin(yaw)
        return [(x + ca * u - sa * w, y + sa * u + ca * w)
                for u, w in ((-half, -side), (half, -side), (half, side), (-half, side))]

    def _tracks(self, x: float, y: float, yaw: float, inset: float) -> np.ndarray:
        return np.array(self._track_corners(x, y, yaw, inset))

    def _tool_ends(self, x: float, y: float, yaw: float) -> list:
        """The tool line's two ends at a pose (python floats)."""
        c = self.contact
        ca, sa = math.cos(yaw), math.sin(yaw)
        cx, cy = x + c.tool_offset_x_m * ca, y + c.tool_offset_x_m * sa
        h = 0.5 * c.tool_width_m
        return [(cx - h * sa, cy + h * ca), (cx + h * sa, cy - h * ca)]

    def _tool_line(self, x: float, y: float, yaw: float) -> np.ndarray:
        return np.array(self._tool_ends(x, y, yaw))

    def _tool_quads(self, x0: float, y0: float, yaw0: float, x1: float, y1: float,
                    yaw1: float):
        """Convex pieces of the tool's sweep from pose 0 to pose 1."""
        dyaw = math.atan2(math.sin(yaw1 - yaw0), math.cos(yaw1 - yaw0))
        n = max(1, int(math.ceil(abs(dyaw) / _MAX_STEP_YAW_RAD)))
        prev = self._tool_ends(x0, y0, yaw0)
        for k in range(1, n + 1):
            f = k / n
            cur = self._tool_ends(x0 + f * (x1 - x0), y0 + f * (y1 - y0), yaw0 + f * dyaw)
            # a list of python floats: the rasterisers take it as it is
            yield hull_vertices(prev + cur)
            prev = cur

    def park(self, x: float, y: float, yaw: float) -> None:
        """Allow the tracks' footprint at the first pose judged (the parked position)."""
        if self._parked or not all(math.isfinite(v) for v in (x, y, yaw)):
            return
        self._parked = True
        self._or_quad(self.allowed, self._tracks(x, y, yaw, -self.contact.tolerance_m))

    def mark_tool(self, x: float, y: float, yaw: float, working: bool) -> None:
        """Mark the tool's sweep from the previous pose while it works (the mission's rule)."""
        if not (working and all(math.isfinite(v) for v in (x, y, yaw))):
            self._last_tool = None
            return
        last = self._last_tool
        self._last_tool = (x, y, yaw)
        if last is None or math.hypot(x - last[0], y - last[1]) > _MAX_MARK_STEP_M:
            return
        for quad in self._tool_quads(last[0], last[1], last[2], x, y, yaw):
            self._or_quad(self.allowed, quad)

    def merge_grid(self, values: np.ndarray, origin_x: float, origin_y: float,
                   resolution: float) -> None:
        """OR the processed cells of an occupancy grid (rows = y) into the allowed ground."""
        values = np.asarray(values)
        if values.ndim != 2 or not values.size or not (
                math.isfinite(resolution) and resolution > 0.0
                and math.isfinite(origin_x) and math.isfinite(origin_y)):
            return
        r = self.raster
        di, dj = (origin_x - r.x0) / r.res, (origin_y - r.y0) / r.res
        # over DDS the grid's resolution is a float32 (nav_msgs/MapMetaData): 0.1 arrives as
        # 0.10000000149; that is the raster's cell while the drift it makes across the grid
        # stays a negligible part of one (else the general path below: 7 ms a merge, 1 Hz)
        drift = abs(resolution - r.res) * max(values.shape)
        if drift < _DRIFT_TOL * r.res and abs(di - round(di)) < _ALIGN_TOL \
                and abs(dj - round(dj)) < _ALIGN_TOL:
            # the mission's grid on this raster's cells (the usual case): one slice
            i0, j0 = int(round(di)), int(round(dj))
            gh, gw = values.shape
            a, b = max(j0, 0), min(j0 + gh, r.h)
            c, d = max(i0, 0), min(i0 + gw, r.w)
            if b > a and d > c:
                self.allowed[a:b, c:d] |= values[a - j0:b - j0, c - i0:d - i0] == \
                    PROCESSED_VALUE
            return
        key = (values.shape, float(origin_x), float(origin_y), float(resolution))
        if key not in self._grid_map:
            # the raster cells whose centres fall in the grid, and the grid cell of each
            # (works for any alignment and resolution); cached: the grid's geometry is fixed
            gh, gw = values.shape
            i0 = max(int(math.floor((origin_x - r.x0) / r.res)), 0)
            i1 = min(int(math.ceil((origin_x + gw * resolution - r.x0) / r.res)), r.w)
            j0 = max(int(math.floor((origin_y - r.y0) / r.res)), 0)
            j1 = min(int(math.ceil((origin_y + gh * resolution - r.y0) / r.res)), r.h)
            cx = r.x0 + (np.arange(i0, max(i1, i0)) + 0.5) * r.res
            cy = r.y0 + (np.arange(j0, max(j1, j0)) + 0.5) * r.res
            gi = np.floor((cx - origin_x) / resolution).astype(int)
            gj = np.floor((cy - origin_y) / resolution).astype(int)
            ok_i, ok_j = (gi >= 0) & (gi < gw), (gj >= 0) & (gj < gh)
            self._grid_map.clear()
            self._grid_map[key] = (np.arange(j0, max(j1, j0))[ok_j][:, None],
                                   np.arange(i0, max(i1, i0))[ok_i][None, :],
                                   gj[ok_j][:, None], gi[ok_i][None, :])
        rr, cc, gj, gi = self._grid_map[key]
        if rr.size and cc.size:
            self.allowed[rr, cc] |= values[gj, gi] == PROCESSED_VALUE

    def tool_points(self, x: float, y: float, yaw: float, samples: int = 5) -> np.ndarray:
        """``samples`` points along the tool line (N x 2), its ends inset by the tracks'
        ``tolerance_m`` (a machine a few centimetres off its lane's centre)."""
        (ax, ay), (bx, by) = self._tool_line(x, y, yaw)
        inset = min(self.contact.tolerance_m, 0.49 * self.contact.tool_width_m) \
            / max(self.contact.tool_width_m, 1e-9)
        f = np.linspace(inset, 1.0 - inset, max(2, samples))
        return np.column_stack([ax + f * (bx - ax), ay + f * (by - ay)])

    def allowed_at(self, xy: np.ndarray) -> np.ndarray:
        """Whether each point (N x 2) is on allowed ground (processed, swept by the working
        tool, declared safe, parked); False off the raster."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        r = self.raster
        out = np.zeros(len(xy), dtype=bool)
        ok = np.isfinite(xy).all(axis=1)
        i = np.floor((xy[ok, 0] - r.x0) / r.res).astype(np.intp)
        j = np.floor((xy[ok, 1] - r.y0) / r.res).astype(np.intp)
        inside = (i >= 0) & (i < r.w) & (j >= 0) & (j < r.h)
        hit = np.zeros(len(i), dtype=bool)
        hit[inside] = self.allowed[j[inside], i[inside]]
        out[ok] = hit
        return out

    def set_hazards(self, discs: Sequence[Tuple[float, float, float]]) -> None:
        """The suspects' discs (x, y, radius) the tracks may not press where the ground is not
        allowed (:func:`demining_control.coverage.no_go.hazard_discs`); replaces the last."""
        rows = np.asarray(discs, dtype=float).reshape(-1, 3)
        self.hazards = rows[np.isfinite(rows).all(axis=1)]

    def _hazard_window(self, j0: int, j1: int, i0: int, i1: int
                       ) -> Tuple[Optional[np.ndarray], np.ndarray]:
        """Cells of the window (rows j0:j1, columns i0:i1) whose centre lies in a suspect's
        disc (None when no disc reaches the window), and the discs that reach it."""
        h = self.hazards
        if not len(h):
            return None, h
        r = self.raster
        x0, x1 = r.x0 + i0 * r.res, r.x0 + i1 * r.res
        y0, y1 = r.y0 + j0 * r.res, r.y0 + j1 * r.res
        near = h[(h[:, 0] + h[:, 2] >= x0) & (h[:, 0] - h[:, 2] <= x1)
                 & (h[:, 1] + h[:, 2] >= y0) & (h[:, 1] - h[:, 2] <= y1)]
        if not len(near):
            return None, near
        cx = r.x0 + (np.arange(i0, i1) + 0.5) * r.res
        cy = r.y0 + (np.arange(j0, j1) + 0.5) * r.res
        mask = np.zeros((j1 - j0, i1 - i0), dtype=bool)
        for x, y, rad in near:
            mask |= ((cx[None, :] - x) ** 2 + (cy[:, None] - y) ** 2) <= rad * rad
        return mask, near

    # -- judgement ---------------------------------------------------------------------------

    def judge(self, x: float, y: float, yaw: float, v: float, omega: float, horizon_s: float,
              steps: int, tool_working: bool) -> Optional[Motion]:
        """Return the kind of the motion (v, omega) when its tracks leave allowed ground.

        None: the motion keeps them on allowed ground over ``horizon_s`` (or stands).
        ``tool_working``: the tool works now and keeps working (it processes ahead).
        :attr:`refused_at` is where the tracks first reach ground not allowed, and
        :attr:`hazard_at` where they would press a suspect's disc (:meth:`set_hazards`) on
        such ground within the horizon (None: they would not).
        """
        self.refused_at = self.hazard_at = None
        kind = motion_kind(v, omega)
        if kind is None:
            return None
        c = self.contact
        tol = min(c.tolerance_m, 0.49 * min(c.contact_half_width_m, 0.5 * c.track_length_m))
        dt = horizon_s / steps
        poses = [(x, y, yaw)]
        for _ in range(steps):
            px, py, pyaw = poses[-1]
            poses.append((px + v * math.cos(pyaw) * dt, py + v * math.sin(pyaw) * dt,
                          pyaw + omega * dt))
        corners = [self._track_corners(*pose, tol) for pose in poses]
        # one window over every hull: the allowed ground, the exemptions and the tool's sweep
        # (the bounds of the corners are those of their hulls: extreme points are vertices)
        r = self.raster
        xs = [u for c in corners for u, _ in c]
        ys = [w for c in corners for _, w in c]
        i0 = max(int(math.floor((min(xs) - r.x0) / r.res)), 0)
        i1 = min(int(math.ceil((max(xs) - r.x0) / r.res)), r.w)
        j0 = max(int(math.floor((min(ys) - r.y0) / r.res)), 0)
        j1 = min(int(math.ceil((max(ys) - r.y0) / r.res)), r.h)
        if i1 <= i0 or j1 <= j0:
            self.refused_at = (float(x), float(y))     # off the raster: nothing is known there
            return kind
        if self.allowed[j0:j1, i0:i1].all():
            # all allowed around the motion (processed or safe ground): the usual case, where
            # the tracks follow the tool over ground it processed, is decided here
            return None
        hulls = [convex_hull(a + b) for a, b in zip(corners[:-1], corners[1:])]
        # every polygon of the judgement rasterised at once on the window: the tracks now,
        # the swept hull of each step, the tool's sweep over each step
        tool = [list(self._tool_quads(*poses[k], *poses[k + 1])) if tool_working else []
                for k in range(steps)]
        masks = convex_cells_many([self._tracks(x, y, yaw, 0.0)] + hulls
                                  + [q for quads in tool for q in quads],
                                  r.x0, r.y0, r.res, slice(j0, j1), slice(i0, i1))
        ok = self.allowed[j0:j1, i0:i1] | masks[0]          # under the tracks now
        hazard, suspects = self._hazard_window(j0, j1, i0, i1)
        first_tool = 1 + len(hulls)
        departs: Optional[Motion] = None
        for k in range(steps):
            bad = masks[1 + k] & ~ok
            if bad.any():
                if departs is None:
                    departs = kind
                    jj, ii = np.nonzero(bad)
                    self.refused_at = (float(r.x0 + (i0 + ii.mean() + 0.5) * r.res),
                                       float(r.y0 + (j0 + jj.mean() + 0.5) * r.res))
                    if hazard is None:
                        return kind
                hit = bad & hazard
                if hit.any():
                    # the suspect whose disc the pressed cells are nearest the centre of
                    jj, ii = np.nonzero(hit)
                    px = r.x0 + (i0 + ii + 0.5) * r.res
                    py = r.y0 + (j0 + jj + 0.5) * r.res
                    d = np.hypot(px[:, None] - suspects[None, :, 0],
                                 py[:, None] - suspects[None, :, 1]) - suspects[None, :, 2]
                    x, y = suspects[int(np.argmin(d.min(axis=0))), :2]
                    self.hazard_at = (float(x), float(y))
                    return kind
            if tool[k]:
                # the tool's sweep to this pose: ground it has processed before the tracks
                # reach it on the next stretch (it works tool_offset_x_m ahead of base_link)
                ok |= masks[first_tool:first_tool + len(tool[k])].any(axis=0)
            first_tool += len(tool[k])
        return departs


__all__ = ['AllowedGround', 'Motion', 'motion_kind']
