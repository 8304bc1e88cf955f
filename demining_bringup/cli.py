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
import os
import random
import sys
from typing import Callable, Dict, List, Optional

from demining_bringup.contract.errors import (CONFIG_ERRORS, EXIT_CONFIG_ERROR,
                                              EXIT_MISSION_FAILED, EXIT_OK)
from demining_bringup.report import REPORT_FILES, new_run_dir
from demining_bringup.results import StopRequest

_DOMAIN_RANGE = (100, 199)       # run domains apart from a vehicle's usual 0
_DEFAULT_TIMEOUT_S = 1200.0


def _say(line: str) -> None:
    print(line, flush=True)


def _run_dir(given: Optional[str]) -> str:
    """The report folder: ``--run-dir``, or a new runs/<UTC time>[-N] no other run shares."""
    if given:
        return os.path.abspath(given)
    return new_run_dir(os.path.join(os.getcwd(), 'runs'))


def _domain_id(given: Optional[int]) -> int:
    if given is not None:
        return given
    env = os.environ.get('ROS_DOMAIN_ID')
    if env and env.isdigit():
        return int(env)
    return random.SystemRandom().randint(*_DOMAIN_RANGE)


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


def _stack_args(ns: argparse.Namespace, run_dir: str) -> Dict[str, str]:
    given = {'world': ns.world, 'profile': ns.profile, 'seed': ns.seed,
             'real_time_factor': ns.rtf, 'scenario': ns.scenario, 'run_dir': run_dir}
    return {k: v for k, v in given.items() if v is not None}


def _prepare(ns: argparse.Namespace, run_dir: str):
    from demining_bringup import stack as st
    desc = st.load_stack()
    args = st.resolve_arguments(desc, _stack_args(ns, run_dir))
    if 'scenario' in args and args['scenario']:
        if not os.path.isfile(args['scenario']):
            raise st.ConfigError(f'scenario file {args["scenario"]!r} not found')
        args['scenario'] = os.path.abspath(args['scenario'])
    profile = st.load_profile(args['profile'])
    nodes = st.resolve_stack(desc, args, profile)
    return args, profile, nodes


def cmd_validate(ns: argparse.Namespace) -> int:
    """Check world, profile and every node's parameters by configuring each component once."""
    from demining_bringup import runner
    args, profile, nodes = _prepare(ns, run_dir='')
    runner.validate(nodes, profile)
    _say(f'ok: world {args["world"]}, profile {args["profile"]}, {len(nodes)} nodes')
    return EXIT_OK


def cmd_run(ns: argparse.Namespace) -> int:
    """Run the stack until the mission ends and print the summary."""
    if ns.backend == 'core':
        return _run_core(ns)
    from demining_bringup import runner
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    args, profile, nodes = _prepare(ns, '')          # bad input ends before a folder exists
    runner.validate(nodes, profile)
    run_dir = _run_dir(ns.run_dir)
    args, profile, nodes = _prepare(ns, run_dir)
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
                                    progress=_say, stop=stop).run()
    finally:
        stop.restore()
    _print_result(result)
    return EXIT_OK if result.ok else EXIT_MISSION_FAILED


def _run_core(ns: argparse.Namespace) -> int:
    """``--backend core``: the same components on the deterministic host, no DDS."""
    from demining_bringup import deterministic_runner
    from demining_bringup.stack import check_profile
    args, profile, nodes = _prepare(ns, '')          # bad input ends before a folder exists
    check_profile(nodes, profile)
    run_dir = _run_dir(ns.run_dir)
    args, profile, nodes = _prepare(ns, run_dir)
    _say(f'world   {args["world"]}')
    _say(f'profile {args["profile"]}')
    _say(f'nodes   {", ".join(n.name for n in nodes)} (deterministic host, no DDS)')
    stop = StopRequest().install()
    try:
        result = deterministic_runner.run_deterministic(nodes, run_dir=run_dir, progress=_say,
                                                        wall_time_limit_s=ns.timeout,
                                                        stop=stop)
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
        _say(f'  neutralised    {len(s["neutralised"])}, AT detonations {s["at_detonations"]}, '
             f'safety events {len(s["safety_events"])}')
        missing = [f for f in REPORT_FILES if not os.path.isfile(os.path.join(result.run_dir, f))]
        if missing:
            _say(f'  missing report files: {", ".join(missing)}')
    else:
        _say('  no report was written')
    _say(f'run folder: {result.run_dir}')


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
        p.add_argument('--executor', choices=['single', 'multi'], default='single',
                       help='executor of an in-process run (single is faster on 2 cores)')
        p.add_argument('--qos-events', action='store_true',
                       help="keep rclpy's QoS event handlers in an in-process run (slower; "
                       'the QoS pairs are checked before the start anyway)')
        p.add_argument('--run-dir', default=None, help='report folder (default runs/<UTC>)')
        p.add_argument('--timeout', type=float, default=_DEFAULT_TIMEOUT_S,
                       help='wall-clock limit in seconds')
        p.set_defaults(func=cmd_run)

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
    p = verbs.add_parser('gpr', help='process GPR files offline (gprMax .out, GSSI .dzt)')
    offline.add_arguments(p)
    p.set_defaults(func=offline.run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``demine``."""
    ns = build_parser().parse_args(argv)
    try:
        return ns.func(ns)
    except CONFIG_ERRORS as exc:
        sys.stderr.write(f'demine: error: {exc}\n')
        return EXIT_CONFIG_ERROR
    except KeyboardInterrupt:
        sys.stderr.write('demine: interrupted\n')
        return EXIT_MISSION_FAILED


if __name__ == '__main__':
    sys.exit(main())
