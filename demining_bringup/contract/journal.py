"""The mission journal: an embedded SQLite database in the run folder (``journal.sqlite``).

The mission level (the mission manager component, which owns a :class:`JournalWriter`)
writes, as the mission goes: state transitions, safety events, sensed events (detonations,
damage, collisions), simulation truth events (a separate, marked table, only in simulation),
the fused tracks (and every AT/UXO labelling of one: the no-go zones), the processed ground as
tiles, the trajectory and the planned paths (path progress), the tool state and depth, the
progress, the parameters and a SHA-256 of the world.
It is the mission's record: the report is rebuilt from it (also from a journal cut off by a
kill) and a crashed mission is resumed from it.

Why SQLite in WAL mode (https://www.sqlite.org/wal.html): a transaction is atomic, a reader
never blocks the writer, and after a crash the next open rolls back what was not committed.
Rows are gathered in memory and committed in one transaction every ``commit_period_s`` (1 s
of mission time by default): a SIGKILL loses at most that much. ``synchronous=NORMAL``: a
commit survives the death of the process (it is in the operating system's cache); an
operating-system crash or power loss may lose the commits since the last WAL checkpoint
(https://www.sqlite.org/pragma.html#pragma_synchronous). The write rate is bounded: one
transaction per period, the trajectory decimated by distance, the tool state sampled once per
period (and at each working/not-working change), tracks written when they change, processed
ground as the 64 x 64-cell tiles that changed, the fusion's mine-probability map (/mine_map,
0..100 per cell) as the 64 x 64-cell tiles that changed, at most every ``map_period_s``.

Stamps in the journal are mission time: a resumed run (a new *segment*, its clock from 0)
adds the time its predecessors had reached (:attr:`JournalWriter.offset_s`).

This module is part of the contract (sqlite3, zlib and numpy only): the mission manager writes
it, the composition layer rebuilds the report from it, and on resume the simulator, the fusion
and the coverage planner read it back.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import math
import os
import sqlite3
import zlib
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from demining_bringup.contract.datatypes import NO_GO_KINDS, Detection, DetectionKind, SimEvent
from demining_bringup.contract.errors import JournalError
from demining_bringup.contract.files import FILE_MODE

#: File name of the journal in a run folder.
JOURNAL_FILE = 'journal.sqlite'
#: Version of the journal's tables (``meta.schema_version``).
JOURNAL_SCHEMA_VERSION = 1
#: Side length of a processed-ground tile, cells (64 x 64 x 0.1 m = 6.4 m squares: a lane's
#: progress in one second touches one or two tiles, each a few hundred bytes compressed).
TILE_CELLS = 64
#: Event kinds the machine itself senses (a blast or impact sensor, the operator): they belong
#: in the machine's record. Every other simulator event (``neutralised``: an item broken
#: silently by the flail; ``intrusion``; ``fault``) is simulation truth.
MACHINE_EVENT_KINDS = ('ap_detonation', 'at_detonation', 'damage', 'collision')
#: Where an event came from.
SOURCE_MACHINE = 'machine'
SOURCE_TRUTH = 'truth'
#: Default period of the mine-probability map's tiles, s: the map is evidence (a resumed fusion
#: starts from it instead of the prior); the tracks and no-go zones, committed every period,
#: are the record. A kill loses at most this much of the map's evidence.
MAP_PERIOD_S = 5.0
#: Largest change of the tool's depth or rotor speed that is not journaled between periods.
_TOOL_DEPTH_STEP_M = 0.01

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments (id INTEGER PRIMARY KEY, started_utc TEXT NOT NULL,
    offset_s REAL NOT NULL, last_stamp REAL NOT NULL, last_utc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS transitions (id INTEGER PRIMARY KEY, segment INTEGER NOT NULL,
    stamp REAL NOT NULL, utc TEXT NOT NULL, state TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS safety_events (id INTEGER PRIMARY KEY, segment INTEGER NOT NULL,
    stamp REAL NOT NULL, state TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, segment INTEGER NOT NULL,
    stamp REAL NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL, item_id TEXT NOT NULL,
    item_kind TEXT NOT NULL, x REAL, y REAL, detail TEXT NOT NULL, extra TEXT);
CREATE TABLE IF NOT EXISTS tracks (id INTEGER PRIMARY KEY, segment INTEGER NOT NULL,
    stamp REAL NOT NULL, x REAL NOT NULL, y REAL NOT NULL, depth REAL NOT NULL,
    confidence REAL NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL, radius REAL NOT NULL,
    strength REAL NOT NULL, live INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS no_go (id INTEGER PRIMARY KEY, segment INTEGER NOT NULL,
    stamp REAL NOT NULL, track_id INTEGER NOT NULL, x REAL NOT NULL, y REAL NOT NULL,
    depth REAL NOT NULL, confidence REAL NOT NULL, kind TEXT NOT NULL, radius REAL NOT NULL);
CREATE TABLE IF NOT EXISTS labels (id INTEGER PRIMARY KEY, segment INTEGER NOT NULL,
    stamp REAL NOT NULL, track_id INTEGER NOT NULL, kind TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trajectory (id INTEGER PRIMARY KEY, segment INTEGER NOT NULL,
    stamp REAL NOT NULL, x REAL NOT NULL, y REAL NOT NULL, yaw REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tool (id INTEGER PRIMARY KEY, segment INTEGER NOT NULL,
    stamp REAL NOT NULL, flail_speed REAL NOT NULL, depth REAL NOT NULL,
    working INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS paths (id INTEGER PRIMARY KEY, segment INTEGER NOT NULL,
    stamp REAL NOT NULL, n INTEGER NOT NULL, xy BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS progress (id INTEGER PRIMARY KEY, segment INTEGER NOT NULL,
    stamp REAL NOT NULL, coverage_percent REAL NOT NULL, processed_m2 REAL NOT NULL);
CREATE TABLE IF NOT EXISTS processed_tiles (ti INTEGER NOT NULL, tj INTEGER NOT NULL,
    stamp REAL NOT NULL, h INTEGER NOT NULL, w INTEGER NOT NULL, bits BLOB NOT NULL,
    PRIMARY KEY (ti, tj));
CREATE TABLE IF NOT EXISTS mine_map (id INTEGER PRIMARY KEY CHECK (id = 1), stamp REAL NOT NULL,
    origin_x REAL NOT NULL, origin_y REAL NOT NULL, resolution REAL NOT NULL,
    width INTEGER NOT NULL, height INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS mine_map_tiles (ti INTEGER NOT NULL, tj INTEGER NOT NULL,
    stamp REAL NOT NULL, h INTEGER NOT NULL, w INTEGER NOT NULL, cells BLOB NOT NULL,
    PRIMARY KEY (ti, tj));
"""


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the millisecond (``2026-11-30T09:41:07.123Z``)."""
    now = _dt.datetime.now(_dt.timezone.utc)
    return now.strftime('%Y-%m-%dT%H:%M:%S.') + f'{now.microsecond // 1000:03d}Z'


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes (hex); '' when it cannot be read."""
    try:
        with open(path, 'rb') as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return ''


def journal_path(run_dir: str) -> str:
    """The journal of a run folder."""
    return os.path.join(run_dir, JOURNAL_FILE)


def _connect(path: str) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    con.execute('PRAGMA journal_mode=WAL')
    con.execute('PRAGMA synchronous=NORMAL')
    return con


def _pack_xy(xy: np.ndarray) -> bytes:
    return zlib.compress(np.asarray(xy, dtype='<f8').tobytes())


def _unpack_xy(blob: bytes, n: int) -> np.ndarray:
    return np.frombuffer(zlib.decompress(blob), dtype='<f8').reshape(n, 2).copy()


def _pack_bits(tile: np.ndarray) -> bytes:
    return zlib.compress(np.packbits(tile.astype(bool), axis=None).tobytes())


def _unpack_bits(blob: bytes, h: int, w: int) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(zlib.decompress(blob), dtype=np.uint8))
    return bits[:h * w].reshape(h, w).astype(bool)


def _pack_cells(tile: np.ndarray) -> bytes:
    return zlib.compress(np.ascontiguousarray(tile, dtype=np.int8).tobytes())


def _unpack_cells(blob: bytes, h: int, w: int) -> np.ndarray:
    return np.frombuffer(zlib.decompress(blob), dtype=np.int8)[:h * w].reshape(h, w).copy()


def _tiles_of(mask: np.ndarray) -> List[Tuple[int, int]]:
    """The (ti, tj) of the tiles holding a True cell of ``mask`` (one pass, no per-cell list)."""
    h, w = mask.shape
    th, tw = -(-h // TILE_CELLS), -(-w // TILE_CELLS)
    padded = np.zeros((th * TILE_CELLS, tw * TILE_CELLS), dtype=bool)
    padded[:h, :w] = mask
    any_ = padded.reshape(th, TILE_CELLS, tw, TILE_CELLS).any(axis=(1, 3))
    tj, ti = np.nonzero(any_)
    return sorted(zip(ti.tolist(), tj.tolist()))


def _changed_tiles_of(new: np.ndarray, old: np.ndarray) -> List[Tuple[int, int]]:
    """``_tiles_of(new != old)`` (same shapes), a band of tile rows at a time.

    A mine map changes in a few tiles between two writes: a band that compares equal as a
    whole is skipped, so the cell-by-cell mask and its reduction are built only where the
    fusion touched the map (the whole-map mask and tile reduction cost ~1 ms a write).
    """
    out = []
    for j0 in range(0, new.shape[0], TILE_CELLS):
        a, b = new[j0:j0 + TILE_CELLS], old[j0:j0 + TILE_CELLS]
        if np.array_equal(a, b):
            continue
        tiles = _tiles_of(a != b)
        out.extend((ti, tj + j0 // TILE_CELLS) for ti, tj in tiles)
    return sorted(out)


@dataclasses.dataclass
class MineMap:
    """The fusion's mine-probability map as last journaled (/mine_map: int8, 0..100, -1)."""

    stamp: float
    values: np.ndarray                 # int8, rows = y
    origin_x: float
    origin_y: float
    resolution: float

    def geometry(self) -> Tuple[float, float, float, int, int]:
        """(origin x, origin y, resolution, width, height)."""
        h, w = self.values.shape
        return (self.origin_x, self.origin_y, self.resolution, w, h)


@dataclasses.dataclass
class GridGeometry:
    """Where the processed-ground grid lies (the journal refuses a resume on another one)."""

    origin_x: float
    origin_y: float
    resolution: float
    width: int
    height: int

    def matches(self, other: 'GridGeometry') -> bool:
        """Same cells (within a micrometre)."""
        return (self.width, self.height) == (other.width, other.height) and all(
            abs(a - b) < 1e-6 for a, b in ((self.origin_x, other.origin_x),
                                           (self.origin_y, other.origin_y),
                                           (self.resolution, other.resolution)))


class JournalWriter:
    """Writes one run's journal (a new one, or the next segment of a resumed one).

    Calls gather rows in memory; :meth:`maybe_commit` commits them once ``commit_period_s``
    of mission time has passed since the last commit, :meth:`commit` at once.
    """

    def __init__(self, path: str, meta: Dict[str, Any], grid: GridGeometry,
                 commit_period_s: float = 1.0, trajectory_spacing_m: float = 0.5,
                 reach_m: Optional[float] = None, map_period_s: float = MAP_PERIOD_S) -> None:
        """Open ``path`` (created when absent; a new segment appended when present).

        ``reach_m``: how far from base_link the tool can mark ground (offset plus half width);
        given, only the cells within it of the poses since the last commit are compared
        (every pose must then pass through :meth:`pose`), else the whole grid is.

        :raises JournalError: when an existing file is not a journal of this grid.
        """
        self.file = path
        self.commit_period_s = float(commit_period_s)
        self.map_period_s = float(map_period_s)
        self.trajectory_spacing_m = float(trajectory_spacing_m)
        existed = os.path.exists(path) and os.path.getsize(path) > 0
        try:
            self._con = _connect(path)
            if not existed:
                # readable by other users and services whatever the umask (as the report);
                # SQLite gives the -wal and -shm files the database's permissions
                os.chmod(path, FILE_MODE)
            self._con.executescript(_SCHEMA)
            if existed:
                prev = read_meta(self._con)
                if prev.get('schema_version') != JOURNAL_SCHEMA_VERSION:
                    raise JournalError(f'{path}: journal schema '
                                       f'{prev.get("schema_version")!r}, expected '
                                       f'{JOURNAL_SCHEMA_VERSION}')
                if not GridGeometry(**prev['grid']).matches(grid):
                    raise JournalError(f'{path}: the processed-ground grid differs from the '
                                       'journal (another area or resolution)')
            row = self._con.execute('SELECT MAX(last_stamp) FROM segments').fetchone()
        except sqlite3.DatabaseError as exc:
            raise JournalError(f'{path}: not a readable mission journal ({exc})') from None
        #: Mission time when this segment started (its clock's 0), s.
        self.offset_s = float(row[0]) if row and row[0] is not None else 0.0
        self._pending: Dict[str, List[tuple]] = {}
        self._written_tracks: Dict[int, tuple] = {}
        #: Each track's label as last written to the ``labels`` table.
        self._labels: Dict[int, str] = {}
        self._last_commit: Optional[float] = None
        self._last_pose: Optional[Tuple[float, float]] = None
        self._tool: Optional[Tuple[float, float, float, bool]] = None
        self._tool_working: Optional[bool] = None
        self._tool_written: Optional[Tuple[float, float, bool]] = None
        self._grid = grid
        self._tiles: Optional[np.ndarray] = None       # processed cells as last written
        self._processed_now: Optional[Tuple[float, np.ndarray]] = None
        self._reach_m = reach_m
        #: Bounding box (min x, min y, max x, max y) of the poses since the last commit.
        self._bbox: Optional[List[float]] = None
        self._last_pose_full: Optional[tuple] = None
        self._latest_pose: Optional[tuple] = None
        self.commits = 0
        self.bytes_rows = 0
        #: The mine map: the latest received, as last written, when last written.
        self._map_now: Optional[MineMap] = None
        self._map_written: Optional[MineMap] = None
        self._map_last: Optional[float] = None
        meta = dict(meta, schema_version=JOURNAL_SCHEMA_VERSION,
                    grid=dataclasses.asdict(grid), tile_cells=TILE_CELLS)
        utc = utc_now()
        with self._transaction():
            if not existed:
                self._con.executemany('INSERT OR REPLACE INTO meta VALUES (?, ?)',
                                      [(k, json.dumps(v)) for k, v in meta.items()])
            cur = self._con.execute('INSERT INTO segments (started_utc, offset_s, last_stamp, '
                                    'last_utc) VALUES (?, ?, ?, ?)',
                                    (utc, self.offset_s, self.offset_s, utc))
            self.segment = int(cur.lastrowid)
        if existed:
            content = read_journal(path)
            self._tiles = content.processed.copy() if content.processed is not None else None
            self._written_tracks = {d.id: _track_key(d) for d in content.tracks}
            self._labels = {tid: hist[-1][1] for tid, hist in content.labels.items()}
            self._map_written = content.mine_map

    # -- gathering -------------------------------------------------------------------------

    def _add(self, table: str, row: tuple) -> None:
        self._pending.setdefault(table, []).append(row)

    def note(self, key: str, value: Any) -> None:
        """Keep ``value`` (JSON) under ``key`` in the meta table at the next commit, replacing
        what was there: a fact of the mission that only its latest value matters for (the
        GPR's soil permittivity)."""
        self._add('meta', (key, json.dumps(value, allow_nan=False)))

    def transition(self, stamp: float, state: str, reason: str) -> None:
        """A mission state transition (``stamp`` in this segment's time)."""
        self._add('transitions', (self.segment, self.offset_s + stamp, utc_now(), state,
                                  reason))

    def safety(self, stamp: float, state: str, reason: str) -> None:
        """A safety state change or people-zone event."""
        self._add('safety_events', (self.segment, self.offset_s + stamp, state, reason))

    def event(self, ev: SimEvent) -> None:
        """An event: machine-sensed kinds to the record, the rest as simulation truth."""
        source = SOURCE_MACHINE if ev.kind in MACHINE_EVENT_KINDS else SOURCE_TRUTH
        # a position that is not a number is kept as unknown (NULL), never loses the event
        x, y = (float(v) if math.isfinite(v) else None for v in (ev.x, ev.y))
        stamp = ev.stamp if math.isfinite(ev.stamp) else 0.0
        # the simulator's item fate rides in extra (simulation truth: truth.json reads it)
        extra = json.dumps(ev.extra, allow_nan=False, default=str) if ev.extra else None
        self._add('events', (self.segment, self.offset_s + stamp, source, ev.kind,
                             ev.item_id, ev.item_kind, x, y, ev.detail, extra))

    def tracks(self, stamp: float, detections: Sequence[Detection]) -> None:
        """The full fused track list: changed tracks are written, vanished ones marked dead.

        A track's row holds its latest state only; every state labelled AT or UXO is also
        appended to the ``no_go`` table, because the zone drawn round it stays when the track is
        later re-labelled (:mod:`demining_control.coverage.no_go`): the record and a resumed
        planner need every zone the live mission drew, not only the tracks labelled so now.
        Each change of a track's label is appended to the ``labels`` table: when a hazard was
        first tracked and since when it has had its label (before the tool reached it?).
        """
        seen = set()
        for d in detections:
            if not all(math.isfinite(v) for v in (d.x, d.y, d.depth, d.confidence, d.radius,
                                                  d.strength)):
                continue                # a malformed track is not written (NOT NULL columns)
            seen.add(d.id)
            key = _track_key(d)
            if self._written_tracks.get(d.id) != key:
                self._written_tracks[d.id] = key
                self._add('tracks', (d.id, self.segment, self.offset_s + stamp, d.x, d.y,
                                     d.depth, d.confidence, d.kind.name, d.source, d.radius,
                                     d.strength, 1))
                if self._labels.get(d.id) != d.kind.name:
                    self._labels[d.id] = d.kind.name
                    self._add('labels', (self.segment, self.offset_s + stamp, d.id,
                                         d.kind.name))
                if d.kind in NO_GO_KINDS:
                    self._add('no_go', (self.segment, self.offset_s + stamp, d.id, d.x, d.y,
                                        d.depth, d.confidence, d.kind.name, d.radius))
        for tid in [t for t in self._written_tracks if t not in seen]:
            if self._written_tracks[tid] is not None:
                self._written_tracks[tid] = None
                self._add('dead_tracks', (tid,))

    def pose(self, stamp: float, x: float, y: float, yaw: float) -> None:
        """The vehicle's pose: kept when it moved ``trajectory_spacing_m`` from the last."""
        if not all(math.isfinite(v) for v in (stamp, x, y, yaw)):
            return
        self._latest_pose = self._last_pose_full = (stamp, x, y, yaw)
        b = self._bbox
        if b is None:
            self._bbox = [x, y, x, y]
        else:
            b[0], b[1], b[2], b[3] = min(b[0], x), min(b[1], y), max(b[2], x), max(b[3], y)
        if self._last_pose is None or math.dist(self._last_pose, (x, y)) >= \
                self.trajectory_spacing_m:
            self._write_pose()

    def _write_pose(self) -> None:
        stamp, x, y, yaw = self._latest_pose
        self._last_pose = (x, y)
        self._latest_pose = None
        self._add('trajectory', (self.segment, self.offset_s + stamp, x, y, yaw))

    def tool(self, stamp: float, flail_speed: float, depth: float, working: bool) -> None:
        """The measured tool state: sampled each period, and at each working change."""
        if not (math.isfinite(flail_speed) and math.isfinite(depth)):
            return
        self._tool = (stamp, flail_speed, depth, bool(working))
        if self._tool_working is not None and bool(working) != self._tool_working:
            self._write_tool()
        self._tool_working = bool(working)

    def _write_tool(self) -> None:
        stamp, speed, depth, working = self._tool
        key = (round(speed, 1), round(depth / _TOOL_DEPTH_STEP_M), working)
        if key != self._tool_written:
            self._tool_written = key
            self._add('tool', (self.segment, self.offset_s + stamp, speed, depth, int(working)))

    def path(self, stamp: float, xy: np.ndarray) -> None:
        """A new planned coverage path (N x 2, or N x 3 with the facing yaw: not journalled)."""
        xy = np.asarray(xy, dtype=float)
        xy = xy[:, :2] if xy.ndim == 2 and xy.shape[1] == 3 else xy.reshape(-1, 2)
        self._add('paths', (self.segment, self.offset_s + stamp, len(xy), _pack_xy(xy)))

    def progress(self, stamp: float, processed: np.ndarray, coverage_percent: float,
                 processed_m2: float) -> None:
        """The processed-ground grid (only its changed tiles are written) and the progress."""
        self._processed_now = (stamp, processed)
        self._add('progress', (self.segment, self.offset_s + stamp, coverage_percent,
                               processed_m2))

    def mine_map(self, stamp: float, values: np.ndarray, origin_x: float, origin_y: float,
                 resolution: float) -> None:
        """The fusion's latest mine map: its changed tiles go out every ``map_period_s``."""
        values = np.asarray(values)
        geometry = (origin_x, origin_y, resolution)
        if values.ndim != 2 or not values.size or not all(math.isfinite(v) for v in geometry) \
                or resolution <= 0.0:
            return                      # a malformed map is not journaled (the last one stands)
        self._map_now = MineMap(stamp, values, float(origin_x), float(origin_y),
                                float(resolution))

    # -- committing ------------------------------------------------------------------------

    def maybe_commit(self, now: float) -> bool:
        """Commit when ``commit_period_s`` has passed since the last commit; True if done."""
        if self._last_commit is not None and now - self._last_commit < self.commit_period_s:
            return False
        self.commit(now)
        return True

    def commit(self, now: float, force: bool = False) -> None:
        """Write every gathered row in one transaction (``force``: the mine map too, now)."""
        self._last_commit = now
        if self._tool is not None:
            self._write_tool()
        if self._latest_pose is not None:
            # the pose at the commit too: a resume starts where the machine stood, not up to
            # trajectory_spacing_m behind
            self._write_pose()
        tiles = self._changed_tiles()
        map_rows = self._changed_map_tiles(now, force)
        pending, self._pending = self._pending, {}
        with self._transaction():
            c = self._con
            for table, rows in pending.items():
                if table == 'dead_tracks':
                    c.executemany('UPDATE tracks SET live = 0 WHERE id = ?', rows)
                elif table == 'meta':
                    c.executemany('INSERT OR REPLACE INTO meta VALUES (?, ?)', rows)
                elif table == 'tracks':
                    c.executemany('INSERT OR REPLACE INTO tracks VALUES '
                                  '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', rows)
                else:
                    n = len(rows[0])
                    cols = _COLUMNS[table]
                    c.executemany(f'INSERT INTO {table} ({cols}) VALUES '
                                  f'({", ".join("?" * n)})', rows)
            if tiles:
                c.executemany('INSERT OR REPLACE INTO processed_tiles VALUES (?, ?, ?, ?, ?, ?)',
                              tiles)
            if map_rows is not None:
                geometry, rows = map_rows
                if geometry is not None:
                    # another map (first one, or resized): its tiles replace every old one
                    c.execute('DELETE FROM mine_map_tiles')
                    c.execute('INSERT OR REPLACE INTO mine_map VALUES (1, ?, ?, ?, ?, ?, ?)',
                              geometry)
                else:
                    c.execute('UPDATE mine_map SET stamp = ? WHERE id = 1',
                              (self.offset_s + now,))
                c.executemany('INSERT OR REPLACE INTO mine_map_tiles VALUES (?, ?, ?, ?, ?, ?)',
                              rows)
            c.execute('UPDATE segments SET last_stamp = ?, last_utc = ? WHERE id = ?',
                      (self.offset_s + now, utc_now(), self.segment))
        self.commits += 1

    def _changed_tiles(self) -> List[tuple]:
        current = self._processed_now
        if current is None:
            return []
        stamp, grid = current
        self._processed_now = None
        grid = np.asarray(grid, dtype=bool)
        h, w = grid.shape
        window = (slice(0, h), slice(0, w))
        if self._tiles is None or self._tiles.shape != grid.shape:
            self._tiles = np.zeros_like(grid)
        elif self._reach_m is not None:
            # only the ground within the tool's reach of this period's poses can have changed
            b = self._bbox
            if b is None:
                return []
            g, r = self._grid, self._reach_m
            i0 = max(0, int((b[0] - r - g.origin_x) / g.resolution) - 1)
            i1 = min(w, int((b[2] + r - g.origin_x) / g.resolution) + 2)
            j0 = max(0, int((b[1] - r - g.origin_y) / g.resolution) - 1)
            j1 = min(h, int((b[3] + r - g.origin_y) / g.resolution) + 2)
            if i1 <= i0 or j1 <= j0:
                return []
            window = (slice(j0, j1), slice(i0, i1))
        last = self._last_pose_full
        # the next period's sweep starts at this period's last pose
        self._bbox = None if last is None else [last[1], last[2], last[1], last[2]]
        changed = grid[window] != self._tiles[window]
        if not changed.any():
            return []
        rows = []
        js, is_ = np.nonzero(changed)
        js = js + window[0].start
        is_ = is_ + window[1].start
        for tj, ti in set(zip((js // TILE_CELLS).tolist(), (is_ // TILE_CELLS).tolist())):
            sl = (slice(tj * TILE_CELLS, min(h, (tj + 1) * TILE_CELLS)),
                  slice(ti * TILE_CELLS, min(w, (ti + 1) * TILE_CELLS)))
            tile = grid[sl]
            rows.append((ti, tj, self.offset_s + stamp, tile.shape[0], tile.shape[1],
                         _pack_bits(tile)))
        self._tiles[window] = grid[window]
        return rows

    def _changed_map_tiles(self, now: float, force: bool):
        """(new geometry row or None, tile rows) when the map is due, else None."""
        m = self._map_now
        if m is None or (not force and self._map_last is not None
                         and now - self._map_last < self.map_period_s):
            return None
        self._map_last = now
        self._map_now = None
        stamp = self.offset_s + now
        old = self._map_written
        h, w = m.values.shape
        geometry = None
        if old is None or not np.allclose(old.geometry()[:3], m.geometry()[:3], atol=1e-6) \
                or old.values.shape != m.values.shape:
            geometry = (stamp, m.origin_x, m.origin_y, m.resolution, w, h)
            tiles = _tiles_of(np.ones((h, w), dtype=bool))
        else:
            tiles = _changed_tiles_of(m.values, old.values)
        rows = []
        for ti, tj in tiles:
            sl = (slice(tj * TILE_CELLS, min(h, (tj + 1) * TILE_CELLS)),
                  slice(ti * TILE_CELLS, min(w, (ti + 1) * TILE_CELLS)))
            tile = m.values[sl]
            rows.append((ti, tj, stamp, tile.shape[0], tile.shape[1], _pack_cells(tile)))
        self._map_written = MineMap(stamp, m.values.astype(np.int8, copy=True), m.origin_x,
                                    m.origin_y, m.resolution)
        return geometry, rows

    def _transaction(self):
        return _Transaction(self._con)

    def close(self, now: Optional[float] = None) -> None:
        """Commit what is gathered (at ``now`` if given) and close the file."""
        if self._con is None:
            return
        if now is not None:
            self.commit(now, force=True)
        self._con.close()
        self._con = None


_COLUMNS = {
    'transitions': 'segment, stamp, utc, state, reason',
    'safety_events': 'segment, stamp, state, reason',
    'events': 'segment, stamp, source, kind, item_id, item_kind, x, y, detail, extra',
    'trajectory': 'segment, stamp, x, y, yaw',
    'tool': 'segment, stamp, flail_speed, depth, working',
    'paths': 'segment, stamp, n, xy',
    'progress': 'segment, stamp, coverage_percent, processed_m2',
    'no_go': 'segment, stamp, track_id, x, y, depth, confidence, kind, radius',
    'labels': 'segment, stamp, track_id, kind',
}


class _Transaction:
    """BEGIN ... COMMIT (ROLLBACK on an exception) on an autocommit connection."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con

    def __enter__(self) -> sqlite3.Connection:
        self.con.execute('BEGIN')
        return self.con

    def __exit__(self, exc_type, exc, tb) -> None:
        self.con.execute('ROLLBACK' if exc_type else 'COMMIT')


def _track_key(d: Detection) -> tuple:
    """What makes a track row worth rewriting (millimetres, percent of confidence)."""
    return (round(d.x, 3), round(d.y, 3), round(d.depth, 3), round(d.confidence, 2),
            d.kind.name, d.source, round(d.radius, 3))


# -- reading -----------------------------------------------------------------------------------

def read_meta(con: sqlite3.Connection) -> Dict[str, Any]:
    """The meta table as a dict (values JSON-decoded)."""
    return {k: json.loads(v) for k, v in con.execute('SELECT key, value FROM meta')}


@dataclasses.dataclass
class JournalContent:
    """Everything a journal holds, in mission time."""

    meta: Dict[str, Any]
    segments: List[Dict[str, Any]]
    transitions: List[Dict[str, Any]]
    safety_events: List[Dict[str, Any]]
    machine_events: List[SimEvent]
    truth_events: List[SimEvent]
    tracks: List[Detection]                  # live tracks (the fusion's latest list)
    trajectory: np.ndarray                   # N x 3 (x, y, yaw)
    tool: List[Dict[str, Any]]
    planned_path: np.ndarray                 # the latest, N x 2
    paths: int
    processed: Optional[np.ndarray]          # bool grid, rows = y
    grid: Optional[GridGeometry]
    last_stamp: float
    last_progress: Optional[Dict[str, float]]
    #: The fusion's mine map as last journaled (None: none yet, or an older journal).
    mine_map: Optional[MineMap] = None
    #: Every AT/UXO labelling of a track, in the order the mission saw them (each zone the
    #: live mission drew, also round tracks later re-labelled; empty for an older journal).
    no_go_tracks: List[Detection] = dataclasses.field(default_factory=list)
    #: Each track's labels in order: id -> [(mission time, kind name), ...] (empty for an
    #: older journal).
    labels: Dict[int, List[Tuple[float, str]]] = dataclasses.field(default_factory=dict)

    @property
    def last_state(self) -> str:
        """The mission state the journal ends in ('' before the first transition)."""
        return self.transitions[-1]['state'] if self.transitions else ''

    @property
    def last_pose(self) -> Optional[Tuple[float, float, float]]:
        """The last recorded pose (x, y, yaw), or None."""
        return tuple(map(float, self.trajectory[-1])) if len(self.trajectory) else None


def read_journal(path: str) -> JournalContent:
    """Read a journal (also one cut off by a kill: the uncommitted tail is simply absent).

    :raises JournalError: when the file is missing, corrupt or not a mission journal.
    """
    if not os.path.isfile(path):
        raise JournalError(f'{path}: no mission journal there')
    try:
        # read-only first (a folder others own); read-write lets SQLite recover a WAL whose
        # index a killed writer left behind
        con = sqlite3.connect(f'file:{path}?mode=ro', uri=True, check_same_thread=False)
        try:
            con.execute('SELECT COUNT(*) FROM meta').fetchone()
        except sqlite3.DatabaseError:
            con.close()
            con = sqlite3.connect(path, check_same_thread=False)
    except sqlite3.DatabaseError as exc:
        raise JournalError(f'{path}: cannot open the journal ({exc})') from None
    try:
        return _read(con, path)
    except (sqlite3.DatabaseError, KeyError, ValueError, TypeError, zlib.error) as exc:
        raise JournalError(f'{path}: corrupt or truncated mission journal '
                           f'({type(exc).__name__}: {exc})') from None
    finally:
        con.close()


def _read(con: sqlite3.Connection, path: str) -> JournalContent:
    meta = read_meta(con)
    if meta.get('schema_version') != JOURNAL_SCHEMA_VERSION:
        raise JournalError(f'{path}: not a mission journal of schema {JOURNAL_SCHEMA_VERSION}')
    segments = [dict(zip(('id', 'started_utc', 'offset_s', 'last_stamp', 'last_utc'), r))
                for r in con.execute('SELECT id, started_utc, offset_s, last_stamp, last_utc '
                                     'FROM segments ORDER BY id')]
    transitions = [dict(zip(('segment', 'stamp', 'utc', 'state', 'reason'), r))
                   for r in con.execute('SELECT segment, stamp, utc, state, reason FROM '
                                        'transitions ORDER BY id')]
    safety = [dict(zip(('stamp', 'state', 'reason'), r))
              for r in con.execute('SELECT stamp, state, reason FROM safety_events '
                                   'ORDER BY id')]
    machine: List[SimEvent] = []
    truth: List[SimEvent] = []
    for src, stamp, kind, item_id, item_kind, x, y, detail, extra in con.execute(
            'SELECT source, stamp, kind, item_id, item_kind, x, y, detail, extra FROM events '
            'ORDER BY id'):
        try:
            extra = json.loads(extra) if extra else None
        except ValueError:
            extra = None            # a damaged extra loses the fate, never the event
        ev = SimEvent(stamp, kind, item_id, item_kind, math.nan if x is None else x,
                      math.nan if y is None else y, detail, extra)
        (machine if src == SOURCE_MACHINE else truth).append(ev)
    tracks = [Detection(x=x, y=y, depth=depth, confidence=conf, kind=DetectionKind[kind],
                        source=source, radius=radius, id=tid, strength=strength)
              for tid, x, y, depth, conf, kind, source, radius, strength in con.execute(
                  'SELECT id, x, y, depth, confidence, kind, source, radius, strength '
                  'FROM tracks WHERE live = 1 ORDER BY id')]
    no_go = []
    if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'no_go'"
                   ).fetchone():
        no_go = [Detection(x=x, y=y, depth=depth, confidence=conf, kind=DetectionKind[kind],
                           source='fused', radius=radius, id=tid)
                 for tid, x, y, depth, conf, kind, radius in con.execute(
                     'SELECT track_id, x, y, depth, confidence, kind, radius FROM no_go '
                     'ORDER BY id')]
    labels: Dict[int, List[Tuple[float, str]]] = {}
    if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'labels'"
                   ).fetchone():
        for tid, stamp, kind in con.execute('SELECT track_id, stamp, kind FROM labels '
                                            'ORDER BY id'):
            labels.setdefault(int(tid), []).append((float(stamp), str(kind)))
    traj = np.asarray(con.execute('SELECT x, y, yaw FROM trajectory ORDER BY id').fetchall(),
                      dtype=float).reshape(-1, 3)
    tool = [dict(zip(('stamp', 'flail_speed', 'depth', 'working'), r))
            for r in con.execute('SELECT stamp, flail_speed, depth, working FROM tool '
                                 'ORDER BY id')]
    last = con.execute('SELECT n, xy FROM paths ORDER BY id DESC LIMIT 1').fetchone()
    planned = _unpack_xy(last[1], last[0]) if last else np.zeros((0, 2))
    n_paths = con.execute('SELECT COUNT(*) FROM paths').fetchone()[0]
    grid = GridGeometry(**meta['grid']) if 'grid' in meta else None
    processed = None
    if grid is not None:
        processed = np.zeros((grid.height, grid.width), dtype=bool)
        tile = int(meta.get('tile_cells', TILE_CELLS))
        for ti, tj, h, w, bits in con.execute('SELECT ti, tj, h, w, bits FROM processed_tiles'):
            processed[tj * tile:tj * tile + h, ti * tile:ti * tile + w] = _unpack_bits(bits, h, w)
    prog = con.execute('SELECT stamp, coverage_percent, processed_m2 FROM progress '
                       'ORDER BY id DESC LIMIT 1').fetchone()
    last_stamp = max([s['last_stamp'] for s in segments] or [0.0])
    mine_map = _read_mine_map(con)
    return JournalContent(
        meta=meta, segments=segments, transitions=transitions, safety_events=safety,
        machine_events=machine, truth_events=truth, tracks=tracks, trajectory=traj, tool=tool,
        planned_path=planned, paths=int(n_paths), processed=processed, grid=grid,
        last_stamp=float(last_stamp),
        last_progress=dict(zip(('stamp', 'coverage_percent', 'processed_m2'), prog))
        if prog else None, mine_map=mine_map, no_go_tracks=no_go, labels=labels)


def _read_mine_map(con: sqlite3.Connection) -> Optional[MineMap]:
    """The journaled mine map; None without one (a journal written before the table)."""
    if con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                   "name = 'mine_map'").fetchone() is None:
        return None
    head = con.execute('SELECT stamp, origin_x, origin_y, resolution, width, height FROM '
                       'mine_map WHERE id = 1').fetchone()
    if head is None:
        return None
    stamp, ox, oy, res, w, h = head
    values = np.full((int(h), int(w)), -1, dtype=np.int8)      # -1: unknown (never written)
    for ti, tj, th, tw, cells in con.execute('SELECT ti, tj, h, w, cells FROM '
                                             'mine_map_tiles'):
        values[tj * TILE_CELLS:tj * TILE_CELLS + th,
               ti * TILE_CELLS:ti * TILE_CELLS + tw] = _unpack_cells(cells, th, tw)
    return MineMap(float(stamp), values, float(ox), float(oy), float(res))


def destroyed_items(events: Iterable[SimEvent]) -> List[str]:
    """Names of the items the truth and machine events say are gone (neutralised, detonated)."""
    gone = ('neutralised', 'ap_detonation', 'at_detonation')
    return sorted({e.item_id for e in events if e.kind in gone and e.item_id})


__all__ = ['GridGeometry', 'JOURNAL_FILE', 'JOURNAL_SCHEMA_VERSION', 'JournalContent',
           'JournalError', 'JournalWriter', 'MACHINE_EVENT_KINDS', 'MAP_PERIOD_S', 'MineMap',
           'SOURCE_MACHINE', 'SOURCE_TRUTH', 'TILE_CELLS', 'destroyed_items', 'file_sha256',
           'journal_path', 'read_journal', 'utc_now']
