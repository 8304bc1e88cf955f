#!/usr/bin/env python3
"""Benchmark of the embedded simulator core: real-time factor and memory over a mission.

Generates a 1-ha (100 m x 100 m) minefield with realistic densities (1 AP mine per 100 m^2,
a few AT mines and UXO, 2.4 metal clutter items per m^2 as logged by HALO Trust in Cambodia,
rocks from the loam preset: docs/sources.md), then drives a lawnmower pattern (lanes 2 m apart
at 0.4 m/s, flail at 800 rpm and 20 cm) with the full sensor suite (GPR 8 x 25 traces/s of
256 samples, MD 8 x 50 readings/s, GNSS, IMU, odometry, tool states, ground truth) on one
core, no DDS. The outputs are drained and dropped every 0.1 s as the node would.

Phase 1 times the first ``--seconds`` simulated seconds (the RTF figure); the run then
continues at the same fidelity to ``--mission-seconds`` (default 2 h) to show memory stays
flat. RSS is read from /proc/self/status. The last line is a JSON object.

Whole stack (``--parts core,dds``): a 1 ha field (100 m x 100 m) as a world file (``demine
generate-world``: 1 AP mine per 100 m^2, 0.05 clutter items per m^2, loam, a 10 m safe belt
round it), then the whole stack of ``config/stack.yaml`` runs the mission from its start:
``core`` on the deterministic host (``demine run --backend core``), ``dds`` in one process
over DDS (``demine run``; ``--executor`` as there, default the events executor;
``real_time_factor`` 200, its maximum, so the lockstep with the control loop paces it). Each
runs in its own child process for ``--stack-seconds`` simulated seconds after the first
minute (start-up; default 1800: the approach and the first lanes; ``0``: the whole mission)
and reports the real-time factor in
**CPU time** (simulated seconds over the process's user + system CPU seconds from the first
tick to the last, threads included):
the machines are shared, so wall time measures the neighbours as much as the stack.

The last line is a JSON object: ``core_rtf``, ``dds_rtf`` (CPU-time real-time factors of the
whole stack on the 1 ha field), ``core_components_ms_per_sim_s`` (where the core run's time
goes: CPU milliseconds per simulated second of each component, every call the host makes into
it) with ``core_host_ms_per_sim_s`` (the host's own share: clock, queues, encoding),
``core_fingerprint`` (SHA-256 prefixes of the run's fused detections, processed ground and
simulator truth: the deterministic run repeats them exactly, so an optimisation that must not
change behaviour must not change them either) and, with
``sim`` among the parts, the simulator core's figures (``rtf``, ``rtf_cpu_time``, memory).

Reproduce: ``cd /work/main && python bench/sim_rtf.py`` (``--quick`` for a short check;
``--parts core`` for one figure).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from demining_bringup.contract.datatypes import SimEvent, ToolCommand, Twist2D  # noqa: E402
from demining_sim.generator import generate_world  # noqa: E402
from demining_sim.simulator import SimParams, Simulator  # noqa: E402

FIELD = [(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]
LANE_SPACING_M = 2.0
SPEED_MPS = 0.4                 # working speed (shared parameter default)
FLAIL_RPS = 83.8                # 800 rpm (docs/sources.md)
DEPTH_M = 0.2
LOOKAHEAD_M = 2.0
HEADING_GAIN = 1.5
DRAIN_PERIOD_S = 0.1
PROGRESS_PERIOD_S = 600.0


def rss_mb() -> float:
    """Resident set size of this process, MB."""
    with open('/proc/self/status', encoding='ascii') as fh:
        for line in fh:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024.0
    return float('nan')


def lawnmower(start: Tuple[float, float]) -> List[Tuple[float, float]]:
    """Waypoints: from the start onto the first lane, then lanes along x, 2 m apart."""
    pts = [start]
    y = 1.0
    east = True
    while y < 100.0:
        xs = (0.0, 100.0) if east else (100.0, 0.0)
        pts += [(xs[0], y), (xs[1], y)]
        y += LANE_SPACING_M
        east = not east
    return pts


class Follower:
    """A minimal pure-pursuit follower on the true pose (the bench measures the simulator)."""

    def __init__(self, path: List[Tuple[float, float]]) -> None:
        self.path = path
        self.i = 1

    def command(self, x: float, y: float, yaw: float) -> Twist2D:
        while self.i < len(self.path) - 1 and math.hypot(
                self.path[self.i][0] - x, self.path[self.i][1] - y) < LOOKAHEAD_M:
            self.i += 1
        if self.i >= len(self.path) - 1 and math.hypot(
                self.path[-1][0] - x, self.path[-1][1] - y) < LOOKAHEAD_M:
            self.i = 1                       # start the field again (long missions)
        tx, ty = self.path[self.i]
        err = math.atan2(ty - y, tx - x) - yaw
        err = (err + math.pi) % (2.0 * math.pi) - math.pi
        v = SPEED_MPS * max(0.0, math.cos(err))
        return Twist2D(v, HEADING_GAIN * err)


def simulator_core(args: argparse.Namespace, cmdline: str) -> Dict[str, Any]:
    """The simulator core alone on the dense 1 ha field (module docstring, first part)."""
    t0 = time.perf_counter()
    world = generate_world(FIELD, seed=args.seed, ap_per_100m2=1.0, at_per_100m2=0.05,
                           uxo_per_100m2=0.05, clutter_per_m2=args.clutter_per_m2,
                           soil='loam', name='bench_1ha')
    sim = Simulator(world, SimParams(seed=args.seed))
    build_s = time.perf_counter() - t0
    kinds = {}
    for it in world.items:
        kinds[it.kind.value] = kinds.get(it.kind.value, 0) + 1
    print(f'world: 1 ha, {len(world.items)} items {kinds}, '
          f'{len(sim.table) - len(world.items)} rocks; built in {build_s:.1f} s', flush=True)
    follower = Follower(lawnmower(world.vehicle_start[:2]))
    rss_start = rss_mb()
    print(f'rss at start: {rss_start:.1f} MB', flush=True)

    events = {}
    outputs = 0
    wall0 = time.perf_counter()
    cpu0 = time.process_time()
    timed = None
    rss_timed = None
    next_progress = PROGRESS_PERIOD_S
    tool = ToolCommand(FLAIL_RPS, 0.0, DEPTH_M)
    while sim.t < args.mission_seconds - 1e-9:
        tr = sim.truth
        sim.set_command(follower.command(tr.x, tr.y, tr.yaw))
        sim.set_tool_command(tool)
        sim.advance_to(sim.t + DRAIN_PERIOD_S)
        out = sim.drain()
        outputs += len(out)
        for o in out:
            if isinstance(o, SimEvent):
                events[o.kind] = events.get(o.kind, 0) + 1
        if timed is None and sim.t >= args.seconds - 1e-9:
            timed = (sim.t, time.perf_counter() - wall0, time.process_time() - cpu0)
            rss_timed = rss_mb()
            print(f'timed phase: {timed[0]:.0f} sim s in {timed[1]:.2f} s wall '
                  f'({timed[2]:.2f} s CPU): rtf {timed[0] / timed[1]:.1f} '
                  f'(CPU-time rtf {timed[0] / timed[2]:.1f}), rss {rss_timed:.1f} MB',
                  flush=True)
        if sim.t >= next_progress - 1e-9:
            wall = time.perf_counter() - wall0
            print(f'  t={sim.t:6.0f} s  pos=({tr.x:5.1f}, {tr.y:5.1f})  rtf so far '
                  f'{sim.t / wall:6.1f}  rss {rss_mb():6.1f} MB  outputs {outputs}  '
                  f'events {events}', flush=True)
            next_progress += PROGRESS_PERIOD_S
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    rss_end = rss_mb()
    print(f'mission: {sim.t:.0f} sim s ({sim.t / 3600:.2f} h) at full sensor fidelity in '
          f'{wall:.1f} s wall: rtf {sim.t / wall:.1f}; rss start {rss_start:.1f} MB, after '
          f'{timed[0]:.0f} s {rss_timed:.1f} MB, end {rss_end:.1f} MB; dropped outputs '
          f'{sim.dropped_outputs}', flush=True)
    result = {
        'rtf': round(timed[0] / timed[1], 1),
        'rtf_cpu_time': round(timed[0] / timed[2], 1),
        'sim_seconds': round(timed[0], 1),
        'wall_seconds': round(timed[1], 2),
        'mission_sim_seconds': round(sim.t, 1),
        'mission_wall_seconds': round(wall, 1),
        'mission_rtf': round(sim.t / wall, 1),
        'mission_cpu_seconds': round(cpu, 1),
        'rss_start_mb': round(rss_start, 1),
        'rss_after_timed_mb': round(rss_timed, 1),
        'rss_end_mb': round(rss_end, 1),
        'items': len(world.items),
        'rocks': len(sim.table) - len(world.items),
        'outputs': outputs,
        'events': events,
        'full_fidelity_mission': True,
        'command': cmdline.strip(),
    }
    return result


# --- the whole stack --------------------------------------------------------------------------

#: The stack bench's field: 1 ha with the generator's default densities and a safe belt.
STACK_FIELD = '0,0 100,0 100,100 0,100'
STACK_SAFE_MARGIN_M = 10.0
#: Simulated seconds before the timed window: the DDS stack comes up while the simulator
#: already runs (nodes are activated one by one), so both hosts are timed from the same point
#: of the mission, after start-up.
WARMUP_S = 60.0
#: real_time_factor of the DDS run: far above what the stack reaches, so only the lockstep
#: with the control loop paces it.
DDS_RTF = 200.0
#: What the deterministic run's fingerprint hashes: the fused detections, the processed ground
#: and the simulator's truth (its wall-clock stamps aside, the run is deterministic, so a
#: change meant to keep behaviour must keep these).
FINGERPRINT_FILES = ('detections.geojson', 'cleared_area.geojson', 'truth.json')
FINGERPRINT_CHARS = 12
#: Keys of those files that say where the run happened (the temporary world's path), not what.
FINGERPRINT_PLACE_KEYS = ('world_file',)


def stack_world(seed: int, folder: str) -> str:
    """Write the stack bench's 1 ha world with ``demine generate-world``; return its path."""
    path = os.path.join(folder, f'bench_1ha_s{seed}.sdf')
    subprocess.run([sys.executable, '-m', 'demining_bringup.cli', 'generate-world',
                    '--polygon', STACK_FIELD, '--seed', str(seed), '--safe-margin',
                    str(STACK_SAFE_MARGIN_M), '--name', 'bench_1ha', '-o', path],
                   check=True, stdout=subprocess.DEVNULL)
    return path


def _nodes(world: str, seed: int, run_dir: str, rtf: float = 0.0):
    from demining_bringup import stack as st
    desc = st.load_stack()
    given = {'world': world, 'seed': seed, 'run_dir': run_dir}
    if rtf:
        given['real_time_factor'] = rtf
    args = st.resolve_arguments(desc, given)
    return st.resolve_stack(desc, args, st.load_profile(args['profile']))


def fingerprint(run_dir: str) -> Dict[str, str]:
    """SHA-256 prefixes of a run's record of what it did (:data:`FINGERPRINT_FILES`), each
    file's JSON without the keys that name where it ran (:data:`FINGERPRINT_PLACE_KEYS`)."""
    out = {}
    for name in FINGERPRINT_FILES:
        path = os.path.join(run_dir, name)
        if os.path.exists(path):
            with open(path, encoding='utf-8') as fh:
                body = json.load(fh)
            if isinstance(body, dict):
                body = {k: v for k, v in body.items() if k not in FINGERPRINT_PLACE_KEYS}
            text = json.dumps(body, sort_keys=True).encode()
            out[name] = hashlib.sha256(text).hexdigest()[:FINGERPRINT_CHARS]
    return out


def child_core(world: str, seed: int, seconds: float, run_dir: str) -> Dict[str, Any]:
    """The whole stack on the deterministic host; CPU seconds over the timed window, in all
    and per component (every call the host makes into one: its deliveries and timers)."""
    from demining_bringup.deterministic_runner import _Monitor, hosted
    from demining_bringup.hosts.deterministic import DeterministicHost
    marks: Dict[str, float] = {}
    per: Dict[str, float] = {}

    class _TimedHost(DeterministicHost):
        """The host, with the CPU time of each call into a component added to its name."""

        def _guard(self, rt, call):
            t0 = time.process_time()
            try:
                return super()._guard(rt, call)
            finally:
                if 'cpu0' in marks:
                    per[rt.name] = per.get(rt.name, 0.0) + time.process_time() - t0

    host = _TimedHost(hosted(_nodes(world, seed, run_dir)))
    monitor = _Monitor(host)
    host.startup()
    limit = WARMUP_S + seconds if seconds > 0 else 4 * 3600.0

    def on_tick(t: float) -> None:
        if t >= WARMUP_S and 'cpu0' not in marks:
            marks.update(cpu0=time.process_time(), wall0=time.perf_counter(), t0=t)

    sim_s = host.run(lambda: monitor.state.terminal, sim_time_limit_s=limit, on_tick=on_tick)
    cpu, wall = time.process_time() - marks['cpu0'], time.perf_counter() - marks['wall0']
    host.shutdown()
    span = max(sim_s - marks['t0'], 1e-9)
    return {'sim_s': sim_s - marks['t0'], 'cpu_s': cpu, 'wall_s': wall,
            'fingerprint': fingerprint(run_dir),
            'state': monitor.state.value, 'progress_pct': monitor.progress,
            'components_ms_per_sim_s': {k: round(1000.0 * v / span, 2) for k, v in sorted(
                per.items(), key=lambda kv: -kv[1])},
            'host_ms_per_sim_s': round(1000.0 * (cpu - sum(per.values())) / span, 2)}


def child_dds(world: str, seed: int, seconds: float, run_dir: str,
              executor: str = 'events') -> Dict[str, Any]:
    """The whole stack in one process over DDS (``demine run``); CPU seconds over the window
    of simulated time, marked on /clock."""
    import random
    from rosgraph_msgs.msg import Clock
    from demining_bringup import runner as rn
    from demining_bringup.contract import qos, topics
    marks: Dict[str, float] = {}
    monitors: List[Any] = []

    def on_clock(msg: Clock) -> None:
        # the window's ends are marked on /clock itself, whatever the runner's polling rate
        t = msg.clock.sec + msg.clock.nanosec * 1e-9
        if t >= WARMUP_S and 'cpu0' not in marks:
            marks.update(cpu0=time.process_time(), wall0=time.perf_counter(), t0=t)
        if seconds > 0 and t >= WARMUP_S + seconds and 'cpu1' not in marks:
            marks.update(cpu1=time.process_time(), wall1=time.perf_counter(), t1=t)

    class _Monitor(rn.MissionMonitor):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.create_subscription(Clock, topics.CLOCK, on_clock, qos.CLOCK)
            monitors.append(self)

    class _Window:
        """The runner's stop request: set once the simulated window has passed."""

        reason = 'bench: simulated-time window reached'

        def __bool__(self) -> bool:
            return 'cpu1' in marks

    rn.MissionMonitor = _Monitor
    nodes = _nodes(world, seed, run_dir, DDS_RTF)
    result = rn.StackRunner(nodes, run_dir=run_dir, domain_id=random.randint(100, 199),
                            timeout_s=24 * 3600.0, stop=_Window(),
                            executor=rn.ExecutorKind(executor)).run()
    if 'cpu1' not in marks:            # the mission ended first
        marks.update(cpu1=time.process_time(), wall1=time.perf_counter(),
                     t1=monitors[0].sim_seconds() if monitors else 0.0)
    return {'sim_s': marks['t1'] - marks.get('t0', 0.0),
            'cpu_s': marks['cpu1'] - marks.get('cpu0', marks['cpu1']),
            'wall_s': marks['wall1'] - marks.get('wall0', marks['wall1']),
            'state': result.mission_state}


def run_child(kind: str, world: str, seed: int, seconds: float,
              executor: str = 'events') -> Dict[str, Any]:
    """Run one stack measurement in a fresh interpreter; its last stdout line is its JSON."""
    with tempfile.TemporaryDirectory(prefix=f'sim_rtf_{kind}_') as run_dir:
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), '--child', kind,
                               '--world', world, '--seed', str(seed),
                               '--stack-seconds', str(seconds), '--run-dir', run_dir,
                               '--executor', executor],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f'{kind} run failed (exit {proc.returncode})')
    out = json.loads(lines[-1])
    out['rtf_cpu_time'] = round(out['sim_s'] / out['cpu_s'], 1) if out['cpu_s'] > 0 else None
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--parts', default='core,dds,sim',
                    help='comma-separated: core (deterministic host), dds (one process over '
                         'DDS), sim (the simulator core alone); default all')
    ap.add_argument('--seconds', type=float, default=600.0,
                    help='sim: simulated seconds timed for the RTF figure (default 600)')
    ap.add_argument('--mission-seconds', type=float, default=7200.0,
                    help='sim: total simulated seconds for the memory check (default 2 h)')
    ap.add_argument('--stack-seconds', type=float, default=1800.0,
                    help='core, dds: simulated seconds of the mission timed (0: to its end)')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--clutter-per-m2', type=float, default=2.4,
                    help='sim: clutter density of the simulator-core field')
    ap.add_argument('--quick', action='store_true',
                    help='sim: 60 s timed, 300 s mission; core, dds: 300 s')
    ap.add_argument('--executor', choices=('single', 'events', 'multi'), default='events',
                    help='dds: executor of the one-process run (`demine run --executor`)')
    ap.add_argument('--child', choices=('core', 'dds'), help=argparse.SUPPRESS)
    ap.add_argument('--world', help=argparse.SUPPRESS)
    ap.add_argument('--run-dir', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        if args.child == 'core':
            out = child_core(args.world, args.seed, args.stack_seconds, args.run_dir)
        else:
            out = child_dds(args.world, args.seed, args.stack_seconds, args.run_dir,
                            args.executor)
        print(json.dumps(out))
        return 0
    if args.quick:
        args.seconds, args.mission_seconds, args.stack_seconds = 60.0, 300.0, 300.0
    args.mission_seconds = max(args.mission_seconds, args.seconds)
    parts = [p.strip() for p in args.parts.split(',') if p.strip()]
    unknown = set(parts) - {'core', 'dds', 'sim'}
    if unknown:
        ap.error(f'unknown parts {sorted(unknown)}')
    cmdline = 'python bench/sim_rtf.py ' + ' '.join(sys.argv[1:])
    print(f'reproduce: cd {os.getcwd()} && {cmdline.strip()}', flush=True)
    result: Dict[str, Any] = {}
    stack = [p for p in ('core', 'dds') if p in parts]
    if stack:
        with tempfile.TemporaryDirectory(prefix='sim_rtf_world_') as folder:
            world = stack_world(args.seed, folder)
            window = (f'{args.stack_seconds:.0f} s after the first {WARMUP_S:.0f} s'
                      if args.stack_seconds > 0 else 'whole mission')
            for kind in stack:
                out = run_child(kind, world, args.seed, args.stack_seconds, args.executor)
                print(f'{kind}: 1 ha field, {window}: {out["sim_s"]:.0f} sim s in '
                      f'{out["cpu_s"]:.1f} s CPU ({out["wall_s"]:.1f} s wall): CPU-time rtf '
                      f'{out["rtf_cpu_time"]}, mission {out["state"]}', flush=True)
                result[f'{kind}_rtf'] = out['rtf_cpu_time']
                result[f'{kind}_sim_s'] = round(out['sim_s'], 1)
                result[f'{kind}_cpu_s'] = round(out['cpu_s'], 1)
                result[f'{kind}_wall_s'] = round(out['wall_s'], 1)
                if 'components_ms_per_sim_s' in out:
                    # where the time goes: CPU ms per simulated second per component, and the
                    # host's own share (clock, queues, message encoding and decoding)
                    print(f'{kind}: CPU ms per simulated second: '
                          + ', '.join(f'{k} {v}' for k, v in
                                      out['components_ms_per_sim_s'].items())
                          + f', host {out["host_ms_per_sim_s"]}', flush=True)
                    result[f'{kind}_components_ms_per_sim_s'] = out['components_ms_per_sim_s']
                    result[f'{kind}_host_ms_per_sim_s'] = out['host_ms_per_sim_s']
                if 'fingerprint' in out:
                    result[f'{kind}_fingerprint'] = out['fingerprint']
            if 'dds' in stack:
                result['dds_executor'] = args.executor
    if 'sim' in parts:
        result.update(simulator_core(args, cmdline))
    result['command'] = cmdline.strip()
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
