"""``demine``: the project's command line (thin verbs over plain helper classes, like ros2cli).

Verbs:

* ``demine run``: run the whole stack headless until the mission ends; prints progress, the
  summary and the run folder.
  ``--backend core`` runs the same components on the deterministic host, without DDS
  (:mod:`demining_bringup.deterministic_runner`).
* ``demine demo``: ``run`` with the defaults (the training field, the default profile).
* ``demine validate``: check a world, a profile and the stack's parameters without running.
* ``demine worlds`` / ``demine profiles``: list what is bundled.
* ``demine generate-world``: write a random minefield world (seeded).
* ``demine report RUN_DIR``: rebuild a run folder's report from its mission journal (also of
  a run killed with SIGKILL: the report then says ``interrupted``).

``demine run --resume RUN_DIR`` continues a mission that did not end (killed, crashed, power
lost) from its journal: the same world, profile and seed (``arguments.json`` in the folder,
unless given again), the processed ground, tracks, no-go zones and mission state restored, the
remaining ground re-planned; the report in RUN_DIR then covers the whole mission.

Exit codes: 0 mission complete, 1 mission aborted or timed out, 2 bad input (one line on
stderr naming the problem, never a traceback).

``demine run`` ends with a complete report folder however the run ends: mission complete or
aborted, ``--timeout`` reached, a node crash, SIGINT or SIGTERM. The first SIGINT/SIGTERM only
sets a flag (:class:`demining_bringup.results.StopRequest`) the run loop polls: the mission is
aborted through /mission/abort ('interrupted by SIGTERM'), its report written, the stack shut
down, exit code 1. A second signal ends the process at once (no report). Without ``--run-dir``
the report goes to a new ``runs/<UTC time>`` folder (``-2``, ``-3``, ... appended when a run
started in the same second has it: :func:`demining_bringup.report.new_run_dir`).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import sys
from typing import Callable, Dict, List, Optional

from demining_bringup.contract.errors import (CONFIG_ERRORS, EXIT_CONFIG_ERROR,
                                              EXIT_MISSION_FAILED, EXIT_OK)
from demining_bringup.contract.errors import ConfigError
from demining_bringup.report import REPORT_FILES, atomic_write, new_run_dir
from demining_bringup.results import StopRequest

_DOMAIN_RANGE = (100, 199)       # run domains apart from a vehicle's usual 0
#: Valid ROS_DOMAIN_ID values on Linux (ROS 2 "The ROS_DOMAIN_ID" concept page: 0-232; above,
#: the DDS port numbers overflow).
_DOMAIN_LIMITS = (0, 232)
_DEFAULT_TIMEOUT_S = 1200.0
#: The stack arguments of a run, kept in its folder for ``--resume``.
ARGUMENTS_FILE = 'arguments.json'
#: The images ``demine report --from-recording`` redraws from a recording.
RECORDING_IMAGE = 'coverage_from_recording.png'
RECORDING_MAP_IMAGE = 'mine_map_from_recording.png'
#: Arguments a resumed run takes from the first run unless given again.
_RESUMED_ARGUMENTS = ('world', 'profile', 'seed', 'scenario', 'task_id', 'hazard_id',
                      'organisation')


def _say(line: str) -> None:
    print(line, flush=True)


def _run_dir(given: Optional[str]) -> str:
    """The report folder: ``--run-dir``, or a new runs/<UTC time>[-N] no other run shares.

    :raises ConfigError: when the folder cannot be created or written.
    """
    try:
        if given:
            path = os.path.abspath(given)
            os.makedirs(path, exist_ok=True)
        else:
            path = new_run_dir(os.path.join(os.getcwd(), 'runs'))
    except OSError as exc:
        raise ConfigError(f'run folder {given or "runs/"}: cannot create it ({exc.strerror})'
                          ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f'run folder {path}: not writable')
    return path


def _prepare_resume(ns: argparse.Namespace) -> None:
    """``--resume RUN_DIR``: check its journal, take the first run's arguments not given.

    :raises ConfigError: when the folder holds no readable journal, or a mission that ended.
    """
    from demining_bringup.contract.journal import journal_path, read_journal
    from demining_bringup.contract.states import MissionState
    folder = os.path.abspath(ns.resume)
    content = read_journal(journal_path(folder))          # JournalError: one line, exit 2
    if content.last_state in {s.value for s in MissionState if s.terminal}:
        raise ConfigError(f'{folder}: the mission is already {content.last_state}; nothing '
                          'to resume (`demine report` rebuilds its report)')
    if ns.run_dir and os.path.abspath(ns.run_dir) != folder:
        raise ConfigError('--run-dir and --resume name different folders')
    ns.resume, ns.run_dir = folder, folder
    try:
        with open(os.path.join(folder, ARGUMENTS_FILE), encoding='utf-8') as f:
            first = json.load(f)
    except (OSError, ValueError):
        first = {}
    for key in _RESUMED_ARGUMENTS:
        if getattr(ns, key, None) is None and first.get(key) not in (None, ''):
            setattr(ns, key, first[key])


def _record_path(ns: argparse.Namespace, run_dir: str) -> str:
    """The MCAP file of ``--record`` ('' without it); a resumed run records a new part."""
    if not ns.record:
        return ''
    from demining_bringup.recording import RECORDING_FILE
    stem, ext = os.path.splitext(RECORDING_FILE)
    path = os.path.join(run_dir, RECORDING_FILE)
    n = 1
    while os.path.exists(path):
        n += 1
        path = os.path.join(run_dir, f'{stem}-{n}{ext}')
    return path


def _save_arguments(run_dir: str, args: Dict[str, str]) -> None:
    """Keep the run's stack arguments in its folder (what ``--resume`` starts again with)."""
    keep = {k: v for k, v in args.items() if k in _RESUMED_ARGUMENTS}
    atomic_write(os.path.join(run_dir, ARGUMENTS_FILE), json.dumps(keep, indent=1).encode())


def _domain_id(given: Optional[int]) -> int:
    """The run's ROS_DOMAIN_ID: given, $ROS_DOMAIN_ID, or a random one (ConfigError if bad)."""
    if given is None:
        env = os.environ.get('ROS_DOMAIN_ID', '')
        given = int(env) if env.isdigit() else random.SystemRandom().randint(*_DOMAIN_RANGE)
    lo, hi = _DOMAIN_LIMITS
    if not lo <= given <= hi:
        raise ConfigError(f'domain id {given} out of range: ROS_DOMAIN_ID must be {lo}..{hi}')
    return given


def _check_run_values(ns: argparse.Namespace) -> None:
    """Refuse run values argparse accepts but a run cannot use (one line, exit 2)."""
    if not (math.isfinite(ns.timeout) and ns.timeout > 0.0):
        raise ConfigError(f'--timeout {ns.timeout}: must be a positive number of seconds')
    if ns.domain_id is not None:
        _domain_id(ns.domain_id)


def _add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--world', default=None,
                        help='world name (see `demine worlds`) or SDF path')
    parser.add_argument('--profile', default=None,
                        help='vehicle profile name (see `demine profiles`) or parameter file')
    parser.add_argument('--seed', type=int, default=None, help='simulation seed')
    parser.add_argument('--rtf', type=float, default=None,
                        help='real-time factor of the embedded simulator')
    parser.add_argument('--scenario', default=None, help='fault-injection scenario YAML')
    parser.add_argument('--domain-id', type=int, default=None,
                        help='ROS_DOMAIN_ID (default: $ROS_DOMAIN_ID or a random 100-199)')
    parser.add_argument('--task-id', default=None,
                        help='mine-action task id for the completion report (IMAS 08.30)')
    parser.add_argument('--hazard-id', default=None,
                        help='hazard (SHA/CHA) id for the completion report')
    parser.add_argument('--organisation', default=None,
                        help='operating organisation for the completion report')


def _stack_args(ns: argparse.Namespace, run_dir: str) -> Dict[str, str]:
    given = {'world': ns.world, 'profile': ns.profile, 'seed': ns.seed,
             'real_time_factor': ns.rtf, 'scenario': ns.scenario, 'run_dir': run_dir,
             'task_id': getattr(ns, 'task_id', None), 'hazard_id': getattr(ns, 'hazard_id', None),
             'organisation': getattr(ns, 'organisation', None),
             'resume': getattr(ns, 'resume', None)}
    return {k: v for k, v in given.items() if v is not None}


def _prepare(ns: argparse.Namespace, run_dir: str):
    from demining_bringup import stack as st
    desc = st.load_stack()
    args = st.resolve_arguments(desc, _stack_args(ns, run_dir))
    if 'scenario' in args and args['scenario']:
        if not os.path.isfile(args['scenario']):
            raise st.ConfigError(f'scenario file {args["scenario"]!r} not found')
        args['scenario'] = os.path.abspath(args['scenario'])
    # a scenario's parameter overrides (setup.parameters), as the fault campaign and the
    # scoreboard apply them: `demine run --scenario` ran with the profile's alone
    profile = st.with_overrides(st.load_profile(args['profile']),
                                st.scenario_file_overrides(args.get('scenario') or ''))
    nodes = st.resolve_stack(desc, args, profile)
    st.check_profile(nodes, profile)
    return args, profile, nodes


def cmd_validate(ns: argparse.Namespace) -> int:
    """Check world, profile and every node's parameters by configuring each component once."""
    from demining_bringup import runner
    from demining_bringup.preflight import preflight
    args, profile, nodes = _prepare(ns, run_dir='')
    runner.validate(nodes, profile)
    status = preflight(nodes)
    _say(f'ok: world {args["world"]}, profile {args["profile"]}, {len(nodes)} nodes')
    if status is not None:
        _say(f'coverage plan from the start: {status.reason}')
    return EXIT_OK


def cmd_run(ns: argparse.Namespace) -> int:
    """Run the stack until the mission ends and print the summary."""
    _check_run_values(ns)
    if ns.resume:
        _prepare_resume(ns)
    if ns.backend == 'core':
        return _run_core(ns)
    from demining_bringup import runner
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    from demining_bringup.preflight import preflight
    args, profile, nodes = _prepare(ns, '')          # bad input ends before a folder exists
    runner.validate(nodes, profile)
    preflight(nodes)                                 # a plan the supervisor would stop: exit 2
    run_dir = _run_dir(ns.run_dir)
    args, profile, nodes = _prepare(ns, run_dir)
    if not ns.resume:
        _save_arguments(run_dir, args)
    domain = _domain_id(ns.domain_id)
    _say(f'world   {args["world"]}')
    _say(f'profile {args["profile"]}')
    _say(f'nodes   {", ".join(n.name for n in nodes)} ({ns.mode}, ROS_DOMAIN_ID={domain})')
    stop = StopRequest().install()
    try:
        result = runner.StackRunner(nodes, run_dir=run_dir, domain_id=domain,
                                    mode=runner.RunMode(ns.mode), timeout_s=ns.timeout,
                                    executor=runner.ExecutorKind(ns.executor),
                                    qos_events=ns.qos_events,
                                    progress=_say, stop=stop,
                                    record_path=_record_path(ns, run_dir)).run()
    finally:
        stop.restore()
    _print_result(result)
    return EXIT_OK if result.ok else EXIT_MISSION_FAILED


def _run_core(ns: argparse.Namespace) -> int:
    """``--backend core``: the same components on the deterministic host, no DDS."""
    from demining_bringup import deterministic_runner
    from demining_bringup.hosts.deterministic import LOGGER_NAME, ConsoleHandler
    from demining_bringup.preflight import preflight
    from demining_bringup.stack import check_profile
    args, profile, nodes = _prepare(ns, '')          # bad input ends before a folder exists
    check_profile(nodes, profile)
    preflight(nodes)                                 # a plan the supervisor would stop: exit 2
    run_dir = _run_dir(ns.run_dir)
    args, profile, nodes = _prepare(ns, run_dir)
    if not ns.resume:
        _save_arguments(run_dir, args)
    _say(f'world   {args["world"]}')
    _say(f'profile {args["profile"]}')
    _say(f'nodes   {", ".join(n.name for n in nodes)} (deterministic host, no DDS)')
    # the components' lines as a ROS 2 console prints them, stamped with the simulated time
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(h, ConsoleHandler) for h in logger.handlers):
        logger.addHandler(ConsoleHandler())
    stop = StopRequest().install()
    try:
        result = deterministic_runner.run_deterministic(nodes, run_dir=run_dir, progress=_say,
                                                        wall_time_limit_s=ns.timeout,
                                                        stop=stop,
                                                        record_path=_record_path(ns, run_dir))
    finally:
        stop.restore()
    _print_result(result)
    return EXIT_OK if result.ok else EXIT_MISSION_FAILED


def _print_result(result) -> None:
    s = result.summary
    _say(f'mission {result.mission_state} in {result.wall_time_s:.1f} s wall time'
         + (f' ({s["reason"]})' if s and s.get('reason') and result.mission_state != 'complete'
            else ''))
    if s:
        _say(f'  coverage       {s["coverage_percent"]:.2f} % of {s["area_field_m2"]:.0f} m²'
             f' ({s["area_cleared_m2"]:.0f} m² processed)')
        _say(f'  mission time   {s["mission_time_s"]:.0f} s simulated, '
             f'{s["clearance_rate_m2_per_h"]:.0f} m²/h')
        kinds: Dict[str, int] = {}
        for d in s['detections']:
            kinds[d['kind']] = kinds.get(d['kind'], 0) + 1
        _say(f'  detections     {len(s["detections"])} '
             f'({", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none"})')
        _say(f'  detonations    AP {s["ap_detonations"]}, AT {s["at_detonations"]}, '
             f'safety events {len(s["safety_events"])}')
        from demining_bringup.record import read_truth
        truth = read_truth(result.run_dir)
        if truth and truth.get('items') is not None:
            _say(f'  truth (sim)    {len(truth["neutralised"])} neutralised, fates '
                 f'{truth["fates"]}, mines left active in processed ground '
                 f'{truth["mines_left_active_in_processed_ground"]}')
        missing = [f for f in REPORT_FILES if not os.path.isfile(os.path.join(result.run_dir, f))]
        if missing:
            _say(f'  missing report files: {", ".join(missing)}')
    else:
        _say('  no report was written')
    _say(f'run folder: {result.run_dir}')


def cmd_report(ns: argparse.Namespace) -> int:
    """Rebuild a run folder's report from its journal."""
    from demining_bringup.record import rebuild_report
    folder = os.path.abspath(ns.run_folder)
    if not os.path.isdir(folder):
        raise ConfigError(f'{ns.run_folder}: no such run folder')
    if ns.from_recording == '':                       # the flag alone: the run's own recording
        from demining_bringup.recording import RECORDING_FILE
        ns.from_recording = os.path.join(folder, RECORDING_FILE)
    if ns.from_recording:
        from demining_bringup.contract import topics
        from demining_bringup.recording import read_recording
        read_recording(ns.from_recording, (topics.COVERAGE_PATH,))   # unreadable: exit 2 first
    try:
        summary = rebuild_report(folder)
    except PermissionError as exc:
        raise ConfigError(f'{folder}: cannot write the report ({exc.strerror})') from None
    if ns.from_recording:
        from demining_bringup.record import load_record
        from demining_bringup.recording import render_from_recording
        out = os.path.join(folder, RECORDING_IMAGE)
        status: Dict[str, object] = {}
        used = render_from_recording(os.path.abspath(ns.from_recording),
                                     load_record(folder)[0], out, status,
                                     os.path.join(folder, RECORDING_MAP_IMAGE))
        drawn = RECORDING_IMAGE + (f' and {RECORDING_MAP_IMAGE}' if used.get('mine_map')
                                   else '')
        _say(f'{drawn} redrawn from {ns.from_recording} ('
             + ', '.join(f'{t} {n}' for t, n in used.items()) + ' messages)')
        if status.get('truncated'):
            _say('  the recording was cut off (its recorder was killed): drawn from its whole '
                 'chunks, the last seconds before the kill are not in it')
    _say(f'mission {summary["outcome"]}: {summary["coverage_percent"]:.2f} % of '
         f'{summary["area_field_m2"]:.0f} m² processed, {len(summary["detections"])} '
         f'detections, {summary["runs"]} run(s)')
    _say(f'run folder: {folder}')
    return EXIT_OK


def cmd_gpr(ns: argparse.Namespace) -> int:
    """``demine gpr``: a recording of the stack is replayed through its GPR component
    (:mod:`demining_bringup.gpr_replay`), files go through the offline readers
    (:mod:`demining_perception.offline`)."""
    from demining_bringup import gpr_replay
    from demining_perception import offline
    return (gpr_replay.run if gpr_replay.is_recording(ns.files) else offline.run)(ns)


def cmd_list(kind: str) -> Callable[[argparse.Namespace], int]:
    """Return a verb printing the bundled worlds or profiles."""
    def verb(ns: argparse.Namespace) -> int:
        from demining_bringup import stack as st
        for name in (st.list_worlds() if kind == 'worlds' else st.list_profiles()):
            _say(name)
        return EXIT_OK
    return verb


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``demine``."""
    parser = argparse.ArgumentParser(prog='demine', description=__doc__.split('\n')[0])
    verbs = parser.add_subparsers(dest='verb', required=True, metavar='VERB')

    for name, helptext in (('run', 'run the stack headless until the mission ends'),
                           ('demo', 'run a full simulated mission on the default world')):
        p = verbs.add_parser(name, help=helptext)
        _add_stack_arguments(p)
        p.add_argument('--backend', choices=['dds', 'core'], default='dds',
                       help='dds: the ROS 2 nodes (default); core: the same cores in one '
                       'deterministic loop without DDS (same seed, same report)')
        p.add_argument('--mode', choices=['inprocess', 'multiprocess'], default='inprocess',
                       help='all nodes in one process (default) or one process per node')
        p.add_argument('--executor', choices=['single', 'multi', 'events'], default='events',
                       help="executor of an in-process run (events: rclpy's C++ events "
                       'executor, the fastest on 2 cores)')
        p.add_argument('--qos-events', action='store_true',
                       help="keep rclpy's QoS event handlers in an in-process run (slower; "
                       'the QoS pairs are checked before the start anyway)')
        p.add_argument('--run-dir', default=None, help='report folder (default runs/<UTC>)')
        p.add_argument('--timeout', type=float, default=_DEFAULT_TIMEOUT_S,
                       help='wall-clock limit in seconds')
        p.add_argument('--resume', default=None, metavar='RUN_DIR',
                       help='continue the interrupted mission of RUN_DIR from its journal')
        p.add_argument('--record', action='store_true',
                       help='record every topic to RUN_DIR/mission.mcap (rosbag2 MCAP layout)')
        p.set_defaults(func=cmd_run)

    p = verbs.add_parser('report', help="rebuild a run folder's report from its journal")
    p.add_argument('run_folder', metavar='RUN_DIR', help='run folder holding journal.sqlite')
    p.add_argument('--from-recording', default=None, nargs='?', const='', metavar='MCAP',
                   help=f'also redraw the coverage image from a recording ({RECORDING_IMAGE}): '
                   'what the topics carried (default RUN_DIR/mission.mcap; a recording cut off '
                   'by a kill is read to its last whole chunk)')
    p.set_defaults(func=cmd_report)

    p = verbs.add_parser('validate', help='check world, profile and parameters')
    _add_stack_arguments(p)
    p.set_defaults(func=cmd_validate)
    verbs.add_parser('worlds', help='list bundled worlds').set_defaults(func=cmd_list('worlds'))
    verbs.add_parser('profiles', help='list vehicle profiles').set_defaults(
        func=cmd_list('profiles'))
    try:
        from demining_sim import generator
    except ImportError:
        generator = None
    if generator is not None and hasattr(generator, 'add_arguments'):
        p = verbs.add_parser('generate-world', help='write a random minefield world')
        generator.add_arguments(p)
        p.set_defaults(func=generator.run)
    from demining_perception import offline
    p = verbs.add_parser('gpr', help='process GPR files offline (gprMax .out, GSSI .dzt, '
                         'a recording of the stack)')
    offline.add_arguments(p)
    p.set_defaults(func=cmd_gpr)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``demine``."""
    ns = build_parser().parse_args(argv)
    try:
        return ns.func(ns)
    except CONFIG_ERRORS as exc:
        # one line, whatever the message carries (a YAML parser's error spans several)
        sys.stderr.write(f'demine: error: {" ".join(str(exc).split())}\n')
        return EXIT_CONFIG_ERROR
    except KeyboardInterrupt:
        sys.stderr.write('demine: interrupted\n')
        return EXIT_MISSION_FAILED


if __name__ == '__main__':
    sys.exit(main())
