"""A mission killed with SIGKILL again and again is resumed each time and still clears its
field (issue 9, "resume"): ``demine run --backend core`` in a subprocess, killed at five points
(as soon as it clears, then at rising coverage read from its journal), ``demine report`` on the
journal a kill cut off, and ``demine run --resume`` after each kill.

Nothing recorded before a kill is lost: every journal read after a kill is a prefix of the final
one (transitions, safety events, events, trajectory, each track's labels, the no-go tracks),
its tracks are still there, its processed ground is still processed; the one final report
covers the whole mission (every run) with coverage >= 99 %. The shared small generated field
(conftest.py) keeps the wall time near a minute.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from demining_bringup.contract.errors import JournalError
from demining_bringup.contract.journal import JournalContent, journal_path, read_journal
from demining_bringup.record import COMPLETION_FILE, INTERRUPTED, TRUTH_FILE
from demining_bringup.report import REPORT_FILES

#: Coverage (percent, read from the journal) at which each run is killed; 0 = once clearing.
KILL_AT_PERCENT = (0.0, 20.0, 40.0, 60.0, 80.0)
#: Wall seconds one run may take to reach its kill point.
_KILL_WAIT_S = 90.0
#: Wall seconds between two looks at the journal while waiting for a kill point.
_POLL_S = 0.2
#: Wall seconds the last (resumed) run may take to finish the mission.
_FINISH_S = 240.0
#: Lines of a run's log a failure shows.
_LOG_TAIL_LINES = 25


def _demine(*argv):
    return [sys.executable, '-m', 'demining_bringup.cli', *argv]


def _look(run_dir):
    try:
        return read_journal(journal_path(run_dir))
    except JournalError:
        return None                             # not created yet


def _run_and_kill(argv, run_dir, percent, log):
    """Start a run, SIGKILL it once its journal shows ``percent`` coverage while clearing."""
    proc = subprocess.Popen(_demine(*argv), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + _KILL_WAIT_S
        while time.monotonic() < deadline and proc.poll() is None:
            c = _look(run_dir)
            if c is not None and c.last_state == 'clearing' and c.last_progress and \
                    c.last_progress['coverage_percent'] >= percent and \
                    c.segments[-1]['id'] == len(c.segments) and _in_this_run(c, argv):
                break
            time.sleep(_POLL_S)       # polling the journal: the loop ends on a condition
        if proc.poll() is not None:
            # the log's end says why (on CI the run folder is gone with the machine)
            log.flush()
            with open(log.name, encoding='utf-8') as f:
                tail = ''.join(f.readlines()[-_LOG_TAIL_LINES:])
            pytest.fail(f'the run ended before {percent} % (exit {proc.returncode}), '
                        f'{log.name} ends:\n{tail}')
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return read_journal(journal_path(run_dir))


def _in_this_run(c: JournalContent, argv) -> bool:
    """The journal's last segment and progress belong to the run just started."""
    last = c.segments[-1]
    return c.last_progress['stamp'] >= last['offset_s'] and \
        any(t['segment'] == last['id'] and t['state'] == 'clearing' for t in c.transitions)


def _assert_kept(before: JournalContent, after: JournalContent) -> None:
    """Everything ``before`` holds is still in ``after`` (the later journal)."""
    for name in ('transitions', 'safety_events', 'machine_events', 'truth_events'):
        old, new = getattr(before, name), getattr(after, name)
        assert new[:len(old)] == old, f'{name} recorded before a kill were lost or changed'
    n = len(before.trajectory)
    assert np.array_equal(after.trajectory[:n], before.trajectory), 'trajectory lost'
    assert not (before.processed & ~after.processed).any(), 'processed ground lost'
    # The tracks table holds each track's latest state: later looks move it and may relabel
    # it (an UNKNOWN track, recorded before a kill, labelled AT after the resume: a clean
    # clone's run). Its labels, like the no-go tracks, are a history: kept as a prefix.
    kept = {d.id for d in after.tracks}
    for d in before.tracks:
        assert d.id in kept, f'track {d.id} lost'
        old, new = before.labels.get(d.id, []), after.labels.get(d.id, [])
        assert new[:len(old)] == old, f'labels of track {d.id} recorded before a kill lost'
    n = len(before.no_go_tracks)
    assert after.no_go_tracks[:n] == before.no_go_tracks, 'no-go tracks lost or changed'


@pytest.mark.slow(seconds=100)
@pytest.mark.timeout(900)
def test_a_mission_killed_five_times_is_resumed_and_cleared(small_field, tmp_path):
    run_dir = str(tmp_path / 'run')
    snapshots = []
    for k, percent in enumerate(KILL_AT_PERCENT):
        argv = (['run', '--backend', 'core', '--world', small_field, '--run-dir', run_dir,
                 '--timeout', '600'] if k == 0 else
                ['run', '--backend', 'core', '--resume', run_dir, '--timeout', '600'])
        with open(tmp_path / f'run{k}.log', 'w') as log:
            snap = _run_and_kill(argv, run_dir, percent, log)
        if snapshots:
            _assert_kept(snapshots[-1], snap)
        assert len(snap.segments) == k + 1
        snapshots.append(snap)
        if k == 0:
            # the report of a killed run, rebuilt from its journal alone
            out = subprocess.run(_demine('report', run_dir), capture_output=True, text=True)
            assert out.returncode == 0, out.stderr
            with open(os.path.join(run_dir, 'summary.json'), encoding='utf-8') as f:
                assert json.load(f)['outcome'] == INTERRUPTED
            for name in REPORT_FILES + (COMPLETION_FILE, TRUTH_FILE):
                assert os.path.getsize(os.path.join(run_dir, name)) > 0, name

    done = subprocess.run(_demine('run', '--backend', 'core', '--resume', run_dir,
                                  '--timeout', str(_FINISH_S)),
                          capture_output=True, text=True, timeout=_FINISH_S + 60)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    final = read_journal(journal_path(run_dir))
    for snap in snapshots:
        _assert_kept(snap, final)
    # a commit every second of mission time: the most a kill can lose
    con = sqlite3.connect(journal_path(run_dir))
    for (seg,) in con.execute('SELECT id FROM segments'):
        stamps = [s for (s,) in con.execute('SELECT stamp FROM progress WHERE segment = ? '
                                            'ORDER BY id', (seg,))]
        assert stamps and max(np.diff(stamps), default=0.0) <= 1.0 + 1e-6, seg
    con.close()
    with open(os.path.join(run_dir, 'summary.json'), encoding='utf-8') as f:
        summary = json.load(f)
    assert summary['outcome'] == 'complete'
    if summary['no_go_zones']:
        # A resumed look at the shallow PMN-2 (top at 1.5 cm) may read it AT (issue 12; where
        # the kills fall decides it: they follow the wall clock): the zone, its clearance and
        # the corners of its box beside it are left for a manual team, and the record says so
        # (the zone in completion.json with the label that made it and its label now).
        assert summary['coverage_workable_percent'] >= 95.0
        with open(os.path.join(run_dir, COMPLETION_FILE), encoding='utf-8') as f:
            left = json.load(f)['residual_risk']['no_go_zones']
        assert len(left) == len(summary['no_go_zones'])
        assert all(z['kind'] in ('AT', 'UXO') for z in left)
    else:
        assert summary['coverage_percent'] >= 99.0
    assert summary['runs'] == len(KILL_AT_PERCENT) + 1
    with open(os.path.join(run_dir, COMPLETION_FILE), encoding='utf-8') as f:
        completion = json.load(f)
    assert len(completion['runs']) == len(KILL_AT_PERCENT) + 1
    # one mission clock across the runs: the last run ends at the mission's time
    assert completion['runs'][-1]['mission_time_to_s'] == pytest.approx(
        summary['mission_time_s'], abs=1.5)
    # a finished mission cannot be resumed again: one line, exit 2
    again = subprocess.run(_demine('run', '--backend', 'core', '--resume', run_dir),
                           capture_output=True, text=True)
    assert again.returncode == 2 and 'already complete' in again.stderr
