"""Node ``fusion``: GPR and MD detections -> /mine_map, /detections, /detections/markers.

:class:`FusionComponent` wraps :class:`FusionCore`: raw detections are folded in as they
arrive, every pose sweeps the sensor boom over the map (negative evidence), the mission's
/coverage/processed says where the working flail has passed (an AT mine within its depth there
would have gone off: :meth:`FusionCore.flailed`); every ``publish_period_s`` the tracks are
re-classified and the fused list goes out; the markers (the fused list again, drawn by the
wire encoder, for viewers) and the mine probability grid each at the first publishing their own
period (``markers_period_s``, ``map_period_s``) after their last one.

On resume (``resume_dir``: a crashed mission's run folder) the tracks its journal holds are
published again with the new ones (:func:`with_restored`), so the planner, the supervisor and
the mission record keep every track and no-go zone found before the crash, and the mine map
starts from the one the journal holds (:func:`restored_log_odds`), not from the prior: the
evidence gathered before the crash, positive and negative, is kept.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from demining_bringup.contract import topics, vehicle_params
from demining_bringup.contract.area import load_area
from demining_bringup.contract.component import Component, Port, Status
from demining_bringup.contract.datatypes import (Detection, DetectionKind, Detections, Grid,
                                                 VehicleState)
from demining_bringup.contract.journal import journal_path, read_journal
from demining_bringup.contract.parameters import param
from demining_perception.fusion.core import FusionCore, FusionParams, LogOddsGrid
from demining_perception.input_monitor import InputMonitor

#: Age after which a detection input counts as missing, s: processors publish only when they
#: find something, so silence is normal over clean ground and only a long one is reported.
_DETECTIONS_STALE_S = 10.0


def _bounds(area_file: str) -> Optional[Tuple[float, float, float, float]]:
    """Return the hazard field's (min_x, min_y, max_x, max_y), or None without an area file.

    :raises WorldError: when the area file cannot be read.
    """
    if not area_file:
        return None
    field = load_area(area_file).field
    xs = [p[0] for p in field]
    ys = [p[1] for p in field]
    return min(xs), min(ys), max(xs), max(ys)


@dataclasses.dataclass(frozen=True)
class FusionNodeParams(FusionParams):
    """The fusion's parameters plus the run folder of a mission to resume."""

    resume_dir: str = vehicle_params.resume_dir()
    map_period_s: float = param(
        1.0, '/mine_map goes out at the first publishing after this long, s: the detections '
        'every publish_period_s, the map, a megabyte on a hectare at 0.1 m, not (the mission '
        'journals its tiles every 5 s; over DDS its serialisation at 5 Hz was ~9 ms per '
        'simulated second). 0: every publishing', min=0.0, max=3600.0)
    markers_period_s: float = param(
        1.0, '/detections/markers goes out at the first publishing after this long, s: '
        '/detections keeps publish_period_s (the planner and the supervisor read it, the '
        'markers are for viewers only); the markers, two per track, cost ~6 ms a publishing '
        'over DDS at 100 tracks. 0: every publishing', min=0.0, max=3600.0)


#: Kinds whose tracks fence ground off (no-go zones): a new look that says one of them about a
#: restored track of another kind is never dropped.
_FENCED_KINDS = (DetectionKind.AT, DetectionKind.UXO)


def with_restored(restored: Sequence[Detection], fused: Sequence[Detection], id_offset: int,
                  radius_m: float) -> List[Detection]:
    """The restored tracks, then the new ones renumbered past them (ids stay unique).

    A new track within ``radius_m`` of a restored one is the same object seen again and is
    left out: the restored track, the one the record and the no-go zones hold, stands, keeping
    its id and position. On the safe side, though: when the new look says AT or UXO of a
    restored track of a milder kind, the restored track takes that kind (and the larger
    radius), so its no-go zone is drawn.
    """
    out = list(restored)
    for d in fused:
        near = [i for i, r in enumerate(restored)
                if math.hypot(d.x - r.x, d.y - r.y) <= radius_m]
        if not near:
            out.append(dataclasses.replace(d, id=d.id + id_offset))
            continue
        for i in near:
            r = out[i]
            if d.kind in _FENCED_KINDS and r.kind not in _FENCED_KINDS:
                out[i] = dataclasses.replace(r, kind=d.kind, confidence=d.confidence,
                                             radius=max(r.radius, d.radius))
    return out


def restored_log_odds(values: np.ndarray, grid: LogOddsGrid) -> np.ndarray:
    """The log-odds cells of ``grid`` rebuilt from a journaled /mine_map (int8 0..100, -1).

    A value ``v`` says the probability lay in [v - 0.5, v + 0.5] %; the upper end is taken
    (the safe side: a restored map never says less of a mine than the one journaled), capped
    at the grid's saturation. Unknown cells (-1: a tile the journal never received) get the
    prior.
    """
    v = np.asarray(values, dtype=np.float64)
    p = np.clip((v + 0.5) / 100.0, 1e-9, 1.0)
    with np.errstate(divide='ignore'):
        lo = np.log(p) - np.log1p(-p)
    cells = np.clip(lo, -grid.max_log_odds, grid.max_log_odds)
    return np.where(v < 0, grid.prior, cells).astype(np.float32)


def restore_map(core: FusionCore, mine_map) -> bool:
    """Load a journaled mine map (:class:`~demining_bringup.contract.journal.MineMap`) into
    ``core``'s grid when it covers the same cells; False (nothing changed) otherwise."""
    g = core.grid
    if mine_map is None or mine_map.values.shape != g.cells.shape or not np.allclose(
            (mine_map.origin_x, mine_map.origin_y, mine_map.resolution),
            (g.origin_x, g.origin_y, g.resolution), atol=1e-6):
        return False
    g.cells[:] = restored_log_odds(mine_map.values, g)
    return True


class FusionComponent(Component):
    """Tracks and the mine-probability grid from the GPR and MD detections."""

    name = 'fusion'
    params = FusionNodeParams
    inputs = {'gpr': Port(topics.GPR_DETECTIONS), 'md': Port(topics.MD_DETECTIONS),
              'pose': Port(topics.LOCALIZATION), 'processed': Port(topics.COVERAGE_PROCESSED)}
    outputs = {'detections': Port(topics.DETECTIONS), 'map': Port(topics.MINE_MAP),
               'markers': Port(topics.DETECTION_MARKERS)}

    def on_configure(self, params: FusionNodeParams) -> None:
        """Size the grid from the hazard area (plus margin) or the map parameters.

        :raises WorldError: when the area file cannot be read.
        :raises JournalError: when the journal of ``resume_dir`` cannot be read.
        """
        self._period_s = params.publish_period_s
        self._map_period_s = params.map_period_s
        self._map_due = -math.inf
        self._markers_period_s = params.markers_period_s
        self._markers_due = -math.inf
        # Two tracks of one object each lie within the gate of it: twice the gate apart.
        self._radius_m = 2.0 * params.association_radius_m
        self._restored: List[Detection] = []
        journal = read_journal(journal_path(params.resume_dir)) if params.resume_dir else None
        if journal is not None:
            self._restored = journal.tracks
        self._id_offset = max([d.id for d in self._restored] or [0])
        bounds = _bounds(params.area_file)
        self.core: Optional[FusionCore] = FusionCore.from_bounds(params, bounds)
        g = self.core.grid
        if journal is not None:
            restored = restore_map(self.core, journal.mine_map)
            self.log.info(f'resuming: {len(self._restored)} tracks and '
                          + ('the mine map' if restored else 'no mine map (none journaled, '
                             'or another grid)') + ' from the journal')
        self.log.info(f'mine map {g.width} x {g.height} cells at {g.resolution} m, '
                      f'origin ({g.origin_x:.1f}, {g.origin_y:.1f})')
        self.monitor = InputMonitor(stale_after_s=_DETECTIONS_STALE_S)

    def on_cleanup(self) -> None:
        """Forget the tracks and the grid."""
        self.core = None

    def timers(self) -> Dict[str, float]:
        """Publish the fused outputs every ``publish_period_s``."""
        return {'publish': self._period_s}

    # -- inputs ---------------------------------------------------------------------------

    def on_gpr(self, dets: Detections, now: float) -> None:
        """Fold a batch of GPR detections in."""
        self._add('gpr', dets, now)

    def on_md(self, dets: Detections, now: float) -> None:
        """Fold a batch of metal-detector detections in."""
        self._add('md', dets, now)

    def on_pose(self, state: VehicleState, now: float) -> None:
        """Negative evidence: lower the map where the sensor boom has just swept."""
        if self.core is not None:
            self.core.sweep(state.x, state.y, state.yaw, state.stamp)

    def on_processed(self, grid: Grid, now: float) -> None:
        """The mission's processed ground: an AT mine within the flail's depth there would
        have gone off under it (:meth:`FusionCore.flailed`)."""
        if self.core is not None:
            self.core.set_processed(grid.values, grid.origin_x, grid.origin_y,
                                    grid.resolution, processed_value=topics.PROCESSED_VALUE)

    def _add(self, source: str, dets: Detections, now: float) -> None:
        self.monitor.tick(source, now)
        self.core.add(dets.items, dets.stamp)

    # -- output ---------------------------------------------------------------------------

    def publish(self, now: float) -> None:
        """Re-classify at ``now``; emit the fused detections, and the grid and the markers
        when their periods are due."""
        self.core.update(now)
        fused = self.core.fused()
        # why each new no-go label was made, in the core's track ids (before renumbering)
        for d, why in self.core.new_no_go(fused):
            self.log.warning(f'fused track at ({d.x:.2f}, {d.y:.2f}) labelled {d.kind.name} '
                             f'(confidence {d.confidence:.2f}) by the {why}')
        if self._restored:
            fused = with_restored(self._restored, fused, self._id_offset, self._radius_m)
        if now >= self._map_due:
            self._emit_map(now)
        self.emit('detections', Detections(now, fused))
        if now >= self._markers_due:
            self.emit('markers', Detections(now, fused))
            self._markers_due = self._due(now, self._markers_period_s)

    def _emit_map(self, now: float) -> None:
        g = self.core.grid
        # Both hosts encode (copy) the map as it is emitted: the cache itself is handed over.
        self.emit('map', Grid(stamp=now, values=g.occupancy_view(), origin_x=g.origin_x,
                              origin_y=g.origin_y, resolution=g.resolution))
        self._map_due = self._due(now, self._map_period_s)

    def _due(self, now: float, period_s: float) -> float:
        """When an output published at ``now`` every ``period_s`` is due again."""
        # (a tolerance: the publishing timer's ticks are sums of floats)
        return now + period_s - 0.5 * self._period_s

    def diagnostics(self, now: float) -> Status:
        """Inputs (rate, age), track and detection counters, fused detections per kind."""
        level, message, values = self.monitor.report(now)
        fused = self.core.fused()
        counts = {k.name: 0 for k in DetectionKind}
        for d in fused:
            counts[d.kind.name] += 1
        values.update({'tracks': str(len(self.core.tracks)), 'published': str(len(fused)),
                       'detections_in': str(self.core.detections_in),
                       'detections_outside_map': str(self.core.detections_outside),
                       'cells_swept': str(self.core.cells_swept)})
        values.update({f'kind {k}': str(v) for k, v in counts.items()})
        return level, message, values


def main(args: Optional[List[str]] = None) -> int:
    """Run the node (a lifecycle node hosting :class:`FusionComponent`)."""
    from demining_bringup.hosts.ros import run_component
    return run_component(FusionComponent, args)


if __name__ == '__main__':
    raise SystemExit(main())
