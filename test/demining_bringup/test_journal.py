"""The mission journal (contract/journal.py): what it keeps, what a kill costs, bad files."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from demining_bringup.contract import journal
from demining_bringup.contract.datatypes import Detection, DetectionKind, SimEvent
from demining_bringup.contract.journal import (TILE_CELLS, GridGeometry, JournalError,
                                               JournalWriter, destroyed_items, journal_path,
                                               read_journal)

GRID = GridGeometry(origin_x=-1.0, origin_y=-1.0, resolution=0.1, width=200, height=100)
META = {'world_name': 'unit', 'simulated': True}


def _writer(tmp_path, grid=GRID, **kw):
    return JournalWriter(journal_path(str(tmp_path)), META, grid, **kw)


def test_every_kind_of_row_comes_back(tmp_path):
    j = _writer(tmp_path)
    j.transition(0.0, 'planning', 'waiting for the coverage path')
    j.safety(0.5, 'protective_stop', 'starting')
    j.event(SimEvent(1.0, 'ap_detonation', 'pmn_1', 'AP', 2.0, 3.0, 'tool'))
    j.event(SimEvent(1.5, 'neutralised', 'pmn_2', 'AP', 4.0, 3.0, 'tool'))
    j.tracks(1.0, [Detection(2.0, 3.0, 0.1, 0.9, DetectionKind.AP, id=1),
                   Detection(9.0, 3.0, 0.2, 0.8, DetectionKind.AT, radius=0.2, id=2)])
    j.path(1.0, np.array([[0.0, 0.0], [10.0, 0.0]]))
    for k in range(30):                       # 0.1 m steps: kept every 0.5 m
        j.pose(1.0 + 0.1 * k, 0.1 * k, 0.0, 0.0)
    j.tool(2.0, 80.0, 0.15, True)
    grid = np.zeros((GRID.height, GRID.width), bool)
    grid[10:20, 10:150] = True
    j.progress(2.0, grid, 7.0, 14.0)
    j.commit(2.0)
    c = read_journal(j.file)
    assert [t['state'] for t in c.transitions] == ['planning']
    assert c.safety_events == [{'stamp': 0.5, 'state': 'protective_stop', 'reason': 'starting'}]
    assert [e.kind for e in c.machine_events] == ['ap_detonation']
    assert [e.kind for e in c.truth_events] == ['neutralised']
    assert [(d.id, d.kind) for d in c.tracks] == [(1, DetectionKind.AP), (2, DetectionKind.AT)]
    assert c.planned_path.tolist() == [[0.0, 0.0], [10.0, 0.0]]
    assert np.array_equal(c.processed, grid)
    assert np.allclose(np.diff(c.trajectory[:-1, 0]), 0.5)      # decimated, then the last pose
    assert c.trajectory[-1, 0] == pytest.approx(2.9)
    assert c.tool == [{'stamp': 2.0, 'flail_speed': 80.0, 'depth': 0.15, 'working': 1}]
    assert c.last_progress['coverage_percent'] == 7.0 and c.last_stamp == 2.0
    assert destroyed_items(c.machine_events + c.truth_events) == ['pmn_1', 'pmn_2']
    j.close()


def test_only_changed_tiles_and_tracks_are_written_again(tmp_path):
    j = _writer(tmp_path)
    grid = np.zeros((GRID.height, GRID.width), bool)
    grid[0:5, 0:5] = True
    dets = [Detection(2.0, 3.0, 0.1, 0.9, DetectionKind.AP, id=1)]
    j.tracks(0.0, dets)
    j.progress(0.0, grid, 0.0, 0.0)
    j.commit(0.0)
    grid = grid.copy()
    grid[0:5, TILE_CELLS + 1] = True          # the second tile only
    j.tracks(1.0, dets)                       # unchanged: not written again
    j.progress(1.0, grid, 0.0, 0.0)
    j.commit(1.0)
    con = sqlite3.connect(j.file)
    stamps = dict(((ti, tj), s) for ti, tj, s in con.execute(
        'SELECT ti, tj, stamp FROM processed_tiles'))
    assert stamps == {(0, 0): 0.0, (1, 0): 1.0}
    assert con.execute('SELECT stamp FROM tracks').fetchall() == [(0.0,)]
    j.tracks(2.0, [])                         # gone from the fusion's list: not live any more
    j.commit(2.0)
    assert read_journal(j.file).tracks == []
    con.close()
    j.close()


def test_rows_wait_for_the_commit_period(tmp_path):
    j = _writer(tmp_path, commit_period_s=1.0)
    j.transition(0.0, 'planning', 'x')
    assert j.maybe_commit(0.0)
    j.transition(0.4, 'clearing', 'y')
    assert not j.maybe_commit(0.5)
    assert [t['state'] for t in read_journal(j.file).transitions] == ['planning']
    assert j.maybe_commit(1.0)
    assert [t['state'] for t in read_journal(j.file).transitions] == ['planning', 'clearing']
    j.close()


def test_a_sigkill_loses_only_the_uncommitted_rows(tmp_path):
    code = textwrap.dedent(f'''
        import os, signal
        from demining_bringup.contract.journal import GridGeometry, JournalWriter
        j = JournalWriter({journal_path(str(tmp_path))!r}, {{}}, GridGeometry(0, 0, 0.1, 10, 10))
        for k in range(50):
            j.safety(float(k), 'ok', f'event {{k}}')
            j.commit(float(k))
        j.safety(50.0, 'ok', 'never committed')
        os.kill(os.getpid(), signal.SIGKILL)
    ''')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    c = read_journal(journal_path(str(tmp_path)))
    assert [e['reason'] for e in c.safety_events] == [f'event {k}' for k in range(50)]
    assert c.last_stamp == 49.0


def test_each_change_of_a_tracks_label_is_kept_across_a_resume(tmp_path):
    # the row of a track holds its latest state; when it first had its label is history
    j = _writer(tmp_path)
    det = Detection(2.0, 3.0, 0.1, 0.4, DetectionKind.UNKNOWN, id=7)
    j.tracks(1.0, [det])
    j.tracks(2.0, [Detection(2.01, 3.0, 0.1, 0.5, DetectionKind.UNKNOWN, id=7)])  # moved only
    j.tracks(3.0, [Detection(2.01, 3.0, 0.1, 0.8, DetectionKind.AP, id=7)])
    j.commit(3.0)
    j.close()
    j2 = _writer(tmp_path)                    # resumed: mission time goes on from 3 s
    j2.tracks(1.0, [Detection(2.01, 3.0, 0.1, 0.9, DetectionKind.AP, id=7)])
    j2.tracks(2.0, [Detection(2.01, 3.0, 0.1, 0.9, DetectionKind.AT, id=7)])
    j2.commit(2.0)
    assert read_journal(j2.file).labels == {7: [(1.0, 'UNKNOWN'), (3.0, 'AP'), (5.0, 'AT')]}
    j2.close()


def test_a_resumed_run_is_a_new_segment_on_the_mission_clock(tmp_path):
    j = _writer(tmp_path)
    j.transition(0.0, 'planning', 'x')
    j.commit(25.0)
    j.close()
    j2 = _writer(tmp_path)
    assert j2.segment == 2 and j2.offset_s == 25.0
    j2.transition(1.0, 'planning', 'resumed')
    j2.commit(3.0)
    c = read_journal(j2.file)
    assert [(t['segment'], t['stamp']) for t in c.transitions] == [(1, 0.0), (2, 26.0)]
    assert c.last_stamp == 28.0 and len(c.segments) == 2
    j2.close()


def test_a_journal_of_another_grid_is_refused(tmp_path):
    _writer(tmp_path).close()
    other = GridGeometry(origin_x=0.0, origin_y=-1.0, resolution=0.1, width=200, height=100)
    with pytest.raises(JournalError, match='grid differs'):
        _writer(tmp_path, grid=other)


@pytest.mark.parametrize('damage', ['garbage', 'truncated', 'empty', 'missing'])
def test_a_bad_journal_is_one_clear_error(tmp_path, damage):
    path = journal_path(str(tmp_path))
    if damage != 'missing':
        j = _writer(tmp_path)
        for k in range(200):
            j.safety(float(k), 'ok', 'x' * 200)
        j.commit(1.0)
        j.close()
        data = open(path, 'rb').read()
        with open(path, 'wb') as f:
            f.write({'garbage': b'not a database' * 100, 'truncated': data[:len(data) // 3],
                     'empty': b''}[damage])
    with pytest.raises(JournalError) as err:
        read_journal(path)
    assert path in str(err.value) and '\n' not in str(err.value)


def test_the_journal_file_is_readable_by_others(tmp_path):
    old = os.umask(0o077)             # even a strict umask gives the report files' 0644
    try:
        j = _writer(tmp_path)
        j.transition(0.0, 'planning', 'x')
        j.commit(0.0)
        for name in os.listdir(tmp_path):
            assert os.stat(tmp_path / name).st_mode & 0o777 == 0o644, name
        j.close()
    finally:
        os.umask(old)


def test_values_that_are_not_numbers_never_cost_the_period(tmp_path):
    j = _writer(tmp_path)
    j.transition(0.0, 'planning', 'x')
    j.event(SimEvent(1.0, 'collision', 'rock', 'obstacle', float('nan'), 2.0))
    j.tracks(1.0, [Detection(float('inf'), 1.0, 0.1, 0.9, DetectionKind.AP, id=1),
                   Detection(2.0, 1.0, 0.1, 0.9, DetectionKind.AP, id=2)])
    j.pose(1.0, float('nan'), 0.0, 0.0)
    j.tool(1.0, float('nan'), 0.1, True)
    j.commit(1.0)
    c = read_journal(j.file)
    assert [t['state'] for t in c.transitions] == ['planning']
    assert [d.id for d in c.tracks] == [2]
    ev = c.machine_events[0]
    assert ev.kind == 'collision' and ev.y == 2.0 and ev.x != ev.x     # NaN: unknown
    j.close()


def test_the_mine_map_goes_out_as_changed_tiles_at_its_own_period(tmp_path):
    j = _writer(tmp_path, map_period_s=5.0)
    values = np.zeros((150, 300), dtype=np.int8)            # 3 x 5 tiles of 64 cells
    j.mine_map(0.0, values, -3.0, -2.0, 0.1)
    j.commit(0.0)
    con = sqlite3.connect(journal_path(str(tmp_path)))
    assert con.execute('SELECT COUNT(*) FROM mine_map_tiles').fetchone()[0] == 3 * 5
    changed = values.copy()
    changed[70:75, 130:135] = 90                            # one tile: (2, 1)
    j.mine_map(1.0, changed, -3.0, -2.0, 0.1)
    j.commit(1.0)                                           # within the period: not yet
    assert read_journal(journal_path(str(tmp_path))).mine_map.values.max() == 0
    before = {r[:2]: r[2] for r in con.execute('SELECT ti, tj, stamp FROM mine_map_tiles')}
    j.commit(5.0)
    after = {r[:2]: r[2] for r in con.execute('SELECT ti, tj, stamp FROM mine_map_tiles')}
    assert [k for k in after if after[k] != before[k]] == [(2, 1)]
    m = read_journal(journal_path(str(tmp_path))).mine_map
    assert np.array_equal(m.values, changed)
    assert (m.origin_x, m.origin_y, m.resolution) == (-3.0, -2.0, 0.1)
    # the last map reaches the journal when it closes, whatever the period
    changed[0, 0] = 55
    j.mine_map(6.0, changed, -3.0, -2.0, 0.1)
    j.close(6.0)
    assert read_journal(journal_path(str(tmp_path))).mine_map.values[0, 0] == 55
    # a resumed segment writes only what changed since
    j2 = _writer(tmp_path)
    j2.mine_map(0.0, changed, -3.0, -2.0, 0.1)
    assert j2._changed_map_tiles(0.0, True)[1] == []
    j2.close()


def test_a_journal_without_a_mine_map_reads_as_none(tmp_path):
    j = _writer(tmp_path)
    j.mine_map(0.0, np.zeros(5), 0.0, 0.0, 0.1)             # not a grid: ignored
    j.mine_map(0.0, np.zeros((0, 4)), 0.0, 0.0, 0.1)        # an empty grid
    j.mine_map(0.0, np.zeros((4, 4)), 0.0, 0.0, 0.0)        # no resolution
    j.close(1.0)
    assert read_journal(journal_path(str(tmp_path))).mine_map is None
    con = sqlite3.connect(journal_path(str(tmp_path)))
    con.execute('DROP TABLE mine_map')                      # a journal of an older stack
    con.commit()
    con.close()
    assert read_journal(journal_path(str(tmp_path))).mine_map is None


def test_the_changed_tiles_by_bands_are_those_of_the_whole_mask():
    """The mine map's changed tiles, found a band of tile rows at a time, are the tiles of the
    cell-by-cell comparison of the whole map (shapes off and under the tile size too)."""
    rng = np.random.default_rng(3)
    for h, w in ((1201, 1203), (64, 128), (50, 70), (130, 64)):
        old = rng.integers(-100, 100, size=(h, w)).astype(np.int8)
        for n_changed in (0, 1, 5, 40):
            new = old.copy()
            js, is_ = rng.integers(0, h, n_changed), rng.integers(0, w, n_changed)
            new[js, is_] = new[js, is_] + 1
            assert journal._changed_tiles_of(new, old) == journal._tiles_of(new != old)
