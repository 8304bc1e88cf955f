#!/usr/bin/env python3
"""Benchmark: the fault campaign under other seeds (issue 8, "Fault campaign").

``make test`` runs every scenario of ``config/faults/`` with an ``expect`` section once, at the
seed its file names (``test/demining_bringup/test_fault_campaign.py``). A safe outcome that
holds at one seed only is luck: this runs the same scenarios at the seeds given (the run's
sensor noise, GNSS dropouts and the simulator's draws; the world stays the file's) and judges
each against the file's own expectations (:func:`demining_bringup.fault_campaign.judge`).

Each run is an independent task of a ``concurrent.futures`` process pool (``--workers``, the
cores by default; forkserver processes, as the test's). One line per run as it ends; a missed
expectation prints the run's account (events, service calls). The last line is a JSON object:
``scenarios``, ``seeds``, ``runs``, ``ended_safe``, ``missed`` (one entry per run that missed:
scenario, seed, what it missed), ``errors`` (runs that raised) and ``wall_s``.

Reproduce: ``.venv/bin/python bench/faults.py --seeds 2,3,4`` (90 runs, ~2 min on 2 cores);
``--only REGEX`` picks scenarios by file stem.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import re
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

#: The shipped scenarios.
FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'config', 'faults')


def campaign(folder: str, only: str) -> List[str]:
    """The scenario files of ``folder`` with an ``expect`` section whose stem matches."""
    from demining_bringup import fault_campaign as fc
    return [p for p in fc.campaign_files(folder)
            if re.search(only, os.path.splitext(os.path.basename(p))[0])]


def run_one(path: str, seed: Optional[int], workdir: str) -> Dict[str, Any]:
    """Run and judge one scenario at ``seed`` (None: the file's); a plain dict back."""
    from demining_bringup import fault_campaign as fc
    os.makedirs(workdir, exist_ok=True)
    try:
        out, misses = fc.run_and_judge(path, workdir, seed)
    except Exception as exc:        # a crashed run is a result of the bench, not its end
        return {'error': f'{type(exc).__name__}: {exc}', 'misses': [], 'account': ''}
    return {'error': '', 'misses': misses,
            'account': fc.describe(out, misses) if misses else ''}


def _seeds(text: str) -> List[Optional[int]]:
    if not text:
        return [None]
    return [int(s) for s in text.split(',') if s.strip()]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the campaign at the seeds; print a line per run and the JSON summary last."""
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', default='',
                    help="comma-separated run seeds (default: each file's own)")
    ap.add_argument('--only', default='', help='regular expression on the scenario file stem')
    ap.add_argument('--folder', default=FOLDER, help='scenario folder (default config/faults)')
    ap.add_argument('--workers', type=int, default=os.cpu_count() or 1,
                    help='worker processes (default: the number of cores)')
    ap.add_argument('--out', default='', help='keep each run\'s files here (default: a '
                    'temporary folder, removed)')
    args = ap.parse_args(argv)
    try:
        seeds = _seeds(args.seeds)
        re.compile(args.only)
    except (ValueError, re.error) as exc:
        sys.stderr.write(f'error: bad --seeds or --only: {exc}\n')
        return 2
    if args.workers < 1 or not os.path.isdir(args.folder):
        sys.stderr.write('error: --workers must be >= 1 and --folder a folder\n')
        return 2
    paths = campaign(args.folder, args.only)
    if not paths:
        sys.stderr.write(f'error: no scenario with an expect section matches {args.only!r}\n')
        return 2
    tmp = None if args.out else tempfile.TemporaryDirectory(prefix='faults-')
    root = args.out or tmp.name
    tasks = [(p, s) for s in seeds for p in paths]
    t0 = time.perf_counter()
    missed: List[Dict[str, Any]] = []
    errors: List[Dict[str, Any]] = []
    ctx = multiprocessing.get_context('forkserver')
    try:
        with concurrent.futures.ProcessPoolExecutor(args.workers, mp_context=ctx) as pool:
            futures = {}
            for path, seed in tasks:
                stem = os.path.splitext(os.path.basename(path))[0]
                where = os.path.join(root, f'{stem}_s{"file" if seed is None else seed}')
                futures[pool.submit(run_one, path, seed, where)] = (stem, seed)
            for k, fut in enumerate(concurrent.futures.as_completed(futures), 1):
                stem, seed = futures[fut]
                r = fut.result()
                label = f'[{k:>3}/{len(tasks)}] {stem} seed {"file" if seed is None else seed}'
                if r['error']:
                    errors.append({'scenario': stem, 'seed': seed, 'error': r['error']})
                    print(f'{label}: ERROR {r["error"]}', flush=True)
                elif r['misses']:
                    missed.append({'scenario': stem, 'seed': seed, 'misses': r['misses']})
                    print(f'{label}: MISSED {"; ".join(r["misses"])}', flush=True)
                    print(r['account'], flush=True)
                else:
                    print(f'{label}: ended safe', flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
    summary = {'scenarios': len(paths), 'seeds': seeds, 'runs': len(tasks),
               'ended_safe': len(tasks) - len(missed) - len(errors), 'missed': missed,
               'errors': errors, 'wall_s': round(time.perf_counter() - t0, 1)}
    print(json.dumps(summary))
    return 0


if __name__ == '__main__':
    sys.exit(main())
