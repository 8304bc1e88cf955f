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


@pytest.mark.parametrize('sim, expected, absent', [('embedded', 'simulator', 'gz_bridge'),
                                                   ('gazebo', 'gz_bridge', 'simulator')])
def test_nodes_match_the_stack_description(sim, expected, absent):
    from launch import LaunchContext
    from launch.actions import OpaqueFunction
    ld = _load()
    context = LaunchContext()
    for entity in ld.entities:
        if not isinstance(entity, OpaqueFunction):
            entity.visit(context)
    context.launch_configurations['sim'] = sim
    opaque = next(e for e in ld.entities if isinstance(e, OpaqueFunction))
    actions = opaque.execute(context)
    names = {getattr(a, 'node_name', None) or getattr(a, 'name', None) for a in actions}
    assert expected in str(names) and absent not in str(names)
