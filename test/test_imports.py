"""The layering rules: no import cycles, the contract depends on nothing above it, components
import no rclpy (docs/architecture.md, "Layers")."""

import ast
import os
import subprocess
import sys
from typing import Dict, Set

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ('demining_bringup', 'demining_perception', 'demining_control', 'demining_sim')
CONTRACT = 'demining_bringup.contract'
NODE_MODULES = ('demining_sim.simulator_node', 'demining_sim.sensor_emulator_node',
                'demining_perception.localization_node', 'demining_perception.gpr_processor_node',
                'demining_perception.md_processor_node', 'demining_perception.fusion_node',
                'demining_control.coverage_planner_node', 'demining_control.path_follower_node',
                'demining_control.tool_controller_node', 'demining_control.people_monitor_node',
                'demining_control.cmd_mux_node',
                'demining_control.safety_supervisor_node', 'demining_control.mission_manager_node')


def _modules() -> Dict[str, str]:
    out = {}
    for pkg in PACKAGES:
        for folder, _, files in os.walk(os.path.join(ROOT, pkg)):
            for f in files:
                if f.endswith('.py'):
                    rel = os.path.relpath(os.path.join(folder, f), ROOT)[:-3]
                    name = rel.replace(os.sep, '.')
                    out[name[:-len('.__init__')] if name.endswith('.__init__') else name] = \
                        os.path.join(folder, f)
    return out


def _imports(path: str, name: str, known: Set[str]) -> Set[str]:
    """Every project module ``path`` imports, at any depth of its code (lazy ones too)."""
    tree = ast.parse(open(path, encoding='utf-8').read())
    pkg = name if path.endswith('__init__.py') else name.rsplit('.', 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                base = '.'.join(pkg.split('.')[:len(pkg.split('.')) - node.level + 1]
                                + ([base] if base else []))
            names = [f'{base}.{a.name}' for a in node.names] + [base]
        else:
            continue
        for n in names:
            while n and n not in known:
                n = n.rpartition('.')[0]
            if n and n != name:
                found.add(n)
    return found


@pytest.fixture(scope='module')
def graph() -> Dict[str, Set[str]]:
    mods = _modules()
    known = set(mods)
    # A package's __init__ is not an edge target of its own submodules' imports.
    return {m: {d for d in _imports(p, m, known) if not m.startswith(d + '.')}
            for m, p in mods.items()}


def test_no_import_cycles(graph):
    state: Dict[str, int] = {}
    stack = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                cycle = stack[stack.index(d):] + [d]
                pytest.fail('import cycle: ' + ' -> '.join(cycle))
            if d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_contract_depends_on_nothing_above_it(graph):
    for m, deps in graph.items():
        if m == CONTRACT or m.startswith(CONTRACT + '.'):
            above = sorted(d for d in deps
                           if not (d == CONTRACT or d.startswith(CONTRACT + '.')
                                   or d == 'demining_bringup'))
            assert not above, f'{m} imports {above} (the contract must not)'


def test_cores_do_not_import_composition(graph):
    # the mission manager writes the record where the mission ends (report, record)
    composition = {m for m in graph if m.startswith('demining_bringup.')
                   and not m.startswith(CONTRACT)} - {'demining_bringup.report',
                                                      'demining_bringup.record'}
    for m, deps in graph.items():
        if m.startswith(('demining_perception', 'demining_control', 'demining_sim')):
            # A node module's main() may start the ROS host; nothing else reaches up.
            allowed = {'demining_bringup.hosts.ros'} if m in NODE_MODULES else set()
            bad = sorted((deps & composition) - allowed)
            assert not bad, f'{m} imports composition modules {bad}'


@pytest.mark.parametrize('module', NODE_MODULES)
def test_component_modules_import_no_rclpy(module):
    code = (f'import sys, {module}; '
            "sys.exit(1 if any(m == 'rclpy' or m.startswith('rclpy.') for m in sys.modules) "
            'else 0)')
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, f'{module} imports rclpy\n{proc.stderr}'
