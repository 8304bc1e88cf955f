"""The launch file on a real ROS 2 install (skipped here: `launch` is not pip-installable)."""

import os

import pytest

launch = pytest.importorskip('launch', reason='ROS 2 launch is not installed')
pytest.importorskip('launch_ros', reason='ROS 2 launch_ros is not installed')

from demining_bringup import stack as st  # noqa: E402

_LAUNCH_FILE = os.path.join(st.share_dir(), 'launch', 'demining.launch.py')


def _load():
    from launch.launch_description_sources import get_launch_description_from_python_launch_file
    return get_launch_description_from_python_launch_file(_LAUNCH_FILE)


def test_every_stack_argument_is_declared_with_a_description():
    from launch.actions import DeclareLaunchArgument
    declared = {a.name: a for a in _load().entities if isinstance(a, DeclareLaunchArgument)}
    assert set(declared) == set(st.load_stack().arguments)
    assert all(a.description for a in declared.values())


def _actions(sim='embedded'):
    """What the launch file's setup returns for ``sim`` (other arguments at their defaults)."""
    from launch import LaunchContext
    from launch.actions import OpaqueFunction
    ld = _load()
    context = LaunchContext()
    for entity in ld.entities:
        if not isinstance(entity, OpaqueFunction):
            entity.visit(context)
    context.launch_configurations['sim'] = sim
    opaque = next(e for e in ld.entities if isinstance(e, OpaqueFunction))
    return opaque.execute(context)


@pytest.mark.parametrize('sim, expected, absent', [('embedded', 'simulator', 'gz_bridge'),
                                                   ('gazebo', 'gz_bridge', 'simulator')])
def test_nodes_match_the_stack_description(sim, expected, absent):
    names = {getattr(a, 'node_name', None) or getattr(a, 'name', None) for a in _actions(sim)}
    assert expected in str(names) and absent not in str(names)


def _node_actions(sim='embedded'):
    from launch_ros.actions import Node
    return [a for a in _actions(sim) if isinstance(a, Node)]


def test_launch_starts_exactly_the_stack_description_and_its_lifecycle_manager():
    desc = st.load_stack()
    values = st.resolve_arguments(desc, {})
    nodes = st.resolve_stack(desc, values, st.load_profile(values['profile']))
    actions = {a.node_name.split('/')[-1]: a for a in _node_actions()}
    expected = {n.name: n for n in nodes}
    assert set(actions) == set(expected) | {desc.manager.name}
    for name, spec in expected.items():
        params = {}
        for p in actions[name]._Node__parameters:       # launch_ros keeps them private
            params.update({k if isinstance(k, str) else ''.join(map(str, k)): v
                           for k, v in p.items()})
        assert set(params) == set(spec.parameters)
    manager = st.resolve_manager(desc, values, nodes)
    assert manager['node_names'] == [n.name for n in nodes]
