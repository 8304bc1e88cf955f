"""Truth per item: what the machine did to every mine, UXO and clutter item, for the record.

The simulator keeps one :class:`ItemFate` per world item (:meth:`Simulator.item_fates`) and sends
the item's whole fate in the ``extra['fate']`` of every /sim/events event that changes it (the
truth channel), so a process that only hears /sim/events rebuilds the same fates with
:func:`fates_from_events`. :func:`truth_document` / :func:`write_truth_json` turn fates into the
``truth.json`` a clearance report can write next to its own files (what was detected is the
record's business, not the simulator's).

The simulator also keeps :class:`ProcessedTruth`: the deepest ground the tool really processed
(its effective depth, not the depth it was set to) on a grid, so a fate says whether an item lies
in ground the tool processed and how deep that ground was processed.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import tempfile
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

#: Version of the truth.json layout.
TRUTH_SCHEMA_VERSION = 1
#: Key of the fate in a SimEvent's ``extra``.
FATE_KEY = 'fate'


class FateState(str, enum.Enum):
    """An item's condition."""

    INTACT = 'intact'
    DAMAGED = 'damaged'          # still live
    DETONATED = 'detonated'
    DESTROYED = 'destroyed'      # broken up without detonating

    @property
    def live(self) -> bool:
        """True while the item is still a hazard."""
        return self in (FateState.INTACT, FateState.DAMAGED)


@dataclasses.dataclass(frozen=True)
class ItemFate:
    """One item's truth: where it was, where it is, what happened to it and when.

    ``cause`` is what neutralised or last changed it (``flail``, ``tiller``, ``left track``,
    ``right track``, ``scenario``); ``neutralised_at`` the time it stopped being live (None while
    live); ``processed_depth_m`` the deepest the tool really processed the ground at its current
    position (None when unknown, e.g. rebuilt from events); ``in_processed_ground`` whether that
    is more than nothing; ``contacts`` how many times the tool or a track met it.
    """

    name: str
    kind: str
    model: str
    x0: float
    y0: float
    depth0: float
    x: float
    y: float
    depth: float
    state: str = FateState.INTACT.value
    last_outcome: str = ''
    cause: str = ''
    changed_at: Optional[float] = None
    neutralised_at: Optional[float] = None
    moves: int = 0
    contacts: int = 0
    fragments_metal_kg: float = 0.0
    processed_depth_m: Optional[float] = None
    in_processed_ground: Optional[bool] = None
    history: tuple = ()

    @property
    def live(self) -> bool:
        """True while the item is a hazard (mines and UXO only; clutter never is)."""
        return self.kind in ('AP', 'AT', 'UXO') and FateState(self.state).live

    @property
    def moved(self) -> bool:
        """True when the item is no longer where it was laid."""
        return self.moves > 0

    def as_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict (``live`` and ``moved`` included)."""
        d = dataclasses.asdict(self)
        d['history'] = [list(h) for h in self.history]
        d['live'] = self.live
        d['moved'] = self.moved
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> 'ItemFate':
        """The fate a dict of :meth:`as_dict` describes (unknown keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw['history'] = tuple(tuple(h) for h in kw.get('history', ()))
        return cls(**kw)


def initial_fates(items: Iterable[Any]) -> List[ItemFate]:
    """Fates of world items nobody has touched (``BuriedItem`` objects)."""
    return [ItemFate(it.name, str(getattr(it.kind, 'value', it.kind)), it.model,
                     float(it.x), float(it.y), float(it.depth), float(it.x), float(it.y),
                     float(it.depth)) for it in items]


def fates_from_events(items: Iterable[Any], events: Iterable[Any]) -> List[ItemFate]:
    """Rebuild the fates of ``items`` from /sim/events (the last fate each event carries wins).

    Events without a fate in ``extra`` (older simulators, faults, collisions) are ignored, so
    the result is the simulator's truth as far as it was sent.
    """
    fates = {f.name: f for f in initial_fates(items)}
    for ev in events:
        extra = ev.get('extra') if isinstance(ev, Mapping) else getattr(ev, 'extra', None)
        if not extra or FATE_KEY not in extra:
            continue
        fate = ItemFate.from_dict(extra[FATE_KEY])
        if fate.name in fates:
            fates[fate.name] = fate
    return list(fates.values())


def truth_document(fates: Sequence[ItemFate], processed_cell: Optional[Any] = None
                   ) -> Dict[str, Any]:
    """The truth.json content: counts and one entry per item.

    ``processed_cell`` is an optional ``(xs, ys) -> bool array`` (e.g. the record's processed
    grid) that decides ``in_record_processed_ground``; ``mines_left_active_in_processed_ground``
    counts live mines/UXO in it (in the simulator's own processed ground when it is not given).
    """
    items = [f.as_dict() for f in fates]
    hazards = [f for f in fates if f.kind in ('AP', 'AT', 'UXO')]
    if processed_cell is not None and fates:
        inside = np.asarray(processed_cell(np.array([f.x for f in fates], dtype=float),
                                           np.array([f.y for f in fates], dtype=float)),
                            dtype=bool)
        for d, v in zip(items, inside):
            d['in_record_processed_ground'] = bool(v)
        in_ground = {f.name: bool(v) for f, v in zip(fates, inside)}
    else:
        in_ground = {f.name: bool(f.in_processed_ground) for f in fates}
    by_state: Dict[str, int] = {}
    for f in hazards:
        by_state[f.state] = by_state.get(f.state, 0) + 1
    return {
        'schema_version': TRUTH_SCHEMA_VERSION,
        'simulated': True,
        'mines_total': len(hazards),
        'mines_live': sum(1 for f in hazards if f.live),
        'mines_moved': sum(1 for f in hazards if f.moved),
        'mines_left_active_in_processed_ground': sum(
            1 for f in hazards if f.live and in_ground.get(f.name, False)),
        'mines_by_state': by_state,
        'items': items,
    }


def write_truth_json(path: str, fates: Sequence[ItemFate],
                     processed_cell: Optional[Any] = None) -> str:
    """Write :func:`truth_document` to ``path`` atomically (0644); return the path."""
    doc = truth_document(fates, processed_cell)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.truth-', suffix='.json')
    try:
        with os.fdopen(fd, 'w') as fh:
            json.dump(doc, fh, indent=1, allow_nan=False)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


class ProcessedTruth:
    """The deepest ground the tool really processed, per cell of a square grid (map frame)."""

    def __init__(self, xmin: float, xmax: float, ymin: float, ymax: float,
                 resolution: float) -> None:
        """Cover the box with cells of ``resolution`` m (all unprocessed)."""
        self.res = float(resolution)
        self.x0 = float(xmin)
        self.y0 = float(ymin)
        self.nx = max(1, int(math.ceil((xmax - xmin) / self.res)))
        self.ny = max(1, int(math.ceil((ymax - ymin) / self.res)))
        self.depth = np.zeros((self.ny, self.nx), dtype=np.float32)

    def stamp(self, x: float, y: float, yaw: float, ahead: float, behind: float,
              half_width: float, depth: float) -> None:
        """Record ``depth`` over the rectangle ``[-behind, ahead] x [-hw, hw]`` at the pose."""
        if depth <= 0.0:
            return
        win = self.window(x, y, yaw, ahead, behind, half_width)
        if win is None:
            return
        rows, cols, inside = win
        block = self.depth[rows, cols]
        np.maximum(block, np.where(inside, np.float32(depth), np.float32(0.0)), out=block)

    def window(self, x: float, y: float, yaw: float, ahead: float, behind: float,
               half_width: float) -> Optional[Tuple[slice, slice, np.ndarray]]:
        """The cells inside the rectangle ``[-behind, ahead] x [-hw, hw]`` at a pose: row and
        column slices of its bounding window and the inside mask there; None off the grid."""
        c, s = math.cos(yaw), math.sin(yaw)
        ex = abs(c) * max(ahead, behind) + abs(s) * half_width
        ey = abs(s) * max(ahead, behind) + abs(c) * half_width
        j0 = max(int((x - ex - self.x0) / self.res), 0)
        j1 = min(int((x + ex - self.x0) / self.res) + 1, self.nx)
        i0 = max(int((y - ey - self.y0) / self.res), 0)
        i1 = min(int((y + ey - self.y0) / self.res) + 1, self.ny)
        if j1 <= j0 or i1 <= i0:
            return None
        cx = self.x0 + (np.arange(j0, j1) + 0.5) * self.res - x
        cy = self.y0 + (np.arange(i0, i1) + 0.5) * self.res - y
        u = c * cx[None, :] + s * cy[:, None]
        w = -s * cx[None, :] + c * cy[:, None]
        inside = (u <= ahead) & (u >= -behind) & (np.abs(w) <= half_width)
        return slice(i0, i1), slice(j0, j1), inside

    def depth_at(self, x: float, y: float) -> float:
        """Deepest processed depth at a point, m (0 off the grid or unprocessed)."""
        j = int(math.floor((x - self.x0) / self.res))
        i = int(math.floor((y - self.y0) / self.res))
        if 0 <= i < self.ny and 0 <= j < self.nx:
            return float(self.depth[i, j])
        return 0.0


__all__ = ['FATE_KEY', 'FateState', 'ItemFate', 'ProcessedTruth', 'TRUTH_SCHEMA_VERSION',
           'fates_from_events', 'initial_fates', 'truth_document', 'write_truth_json']
