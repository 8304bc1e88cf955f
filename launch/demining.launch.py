"""Launch the whole demining stack (nav2_bringup style: every argument declared and described).

The nodes, their modules and how launch arguments feed their parameters come from
config/stack.yaml through demining_bringup.stack, the same code `demine run` uses, so the
launch file and the CLI start the same stack: every node is a component hosted as a lifecycle
node, brought up in dependency order by the lifecycle manager. Parameters come from one
vehicle profile, config/vehicles/<profile>.yaml, typed by each node's parameter schema.

The launch ends when the mission has ended (the lifecycle manager shuts the nodes down and
exits once the report is written) and when any node process exits (a crashed node ends it).

    ros2 launch demining demining.launch.py world:=training_field profile:=mv4_flail
    ros2 launch demining demining.launch.py sim:=gazebo world:=farmland_rows
    ros2 launch demining demining.launch.py resume:=runs/20261130T074811Z \
        run_dir:=runs/20261130T074811Z record:=true   # continue a crashed mission, recorded
"""

import os
import time

from launch import LaunchContext, LaunchDescription
from launch.actions import (DeclareLaunchArgument, EmitEvent, ExecuteProcess, OpaqueFunction)
from launch.events import Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from demining_bringup import stack as st


def _end_launch(reason: str) -> list:
    return [EmitEvent(event=Shutdown(reason=reason))]


def _gazebo_actions(values: dict, namespace: str) -> list:
    """Gazebo server and the ROS <-> gz bridge for sim:=gazebo (see docs/gazebo.md)."""
    bridge_config = os.path.join(st.share_dir(), 'config', 'gz_bridge.yaml')
    return [
        ExecuteProcess(cmd=['gz', 'sim', '-s', '-r', '--headless-rendering', values['world']],
                       output='screen', name='gz_sim'),
        Node(package='ros_gz_bridge', executable='parameter_bridge', name='gz_bridge',
             namespace=namespace,
             parameters=[{'config_file': bridge_config, 'use_sim_time': True}],
             output='screen'),
    ]


def _launch_setup(context: LaunchContext) -> list:
    desc = st.load_stack()
    given = {name: LaunchConfiguration(name).perform(context) for name in desc.arguments}
    values = st.resolve_arguments(desc, given)
    profile = st.load_profile(values['profile'])
    nodes = st.resolve_stack(desc, values, profile)
    st.check_profile(nodes, profile)
    common = dict(namespace=values.get('namespace', ''), output='screen', emulate_tty=True,
                  ros_arguments=['--log-level', values.get('log_level', 'info')])
    actions = [Node(package=st.PACKAGE, executable=n.executable, name=n.name,
                    parameters=[n.parameters],
                    on_exit=_end_launch(f'node {n.name} exited'), **common)
               for n in nodes]
    if desc.manager is not None:
        actions.append(Node(package=st.PACKAGE, executable=desc.manager.executable,
                            name=desc.manager.name,
                            parameters=[st.resolve_manager(desc, values, nodes)],
                            on_exit=_end_launch('the lifecycle manager ended the mission'),
                            **common))
    if values.get('sim') == 'gazebo':
        actions += _gazebo_actions(values, common['namespace'])
    if str(values.get('record', 'false')).lower() == 'true':
        actions.append(_record_action(values))
    return actions


def _record_action(values: dict) -> ExecuteProcess:
    """``record:=true``: rosbag2 records every topic to MCAP in the run folder."""
    folder = values.get('run_dir') or os.path.join('runs', time.strftime(
        'rosbag2_%Y%m%dT%H%M%SZ', time.gmtime()))
    out = os.path.join(folder, 'rosbag2') if values.get('run_dir') else folder
    return ExecuteProcess(cmd=['ros2', 'bag', 'record', '--all', '--storage', 'mcap',
                               '--use-sim-time', '--output', out],
                          output='screen', name='rosbag2_recorder')


def generate_launch_description() -> LaunchDescription:
    """Declare every argument of the stack description, then start its nodes."""
    desc = st.load_stack()
    arguments = [DeclareLaunchArgument(a.name, default_value=a.default,
                                       description=a.description,
                                       **({'choices': list(a.choices)} if a.choices else {}))
                 for a in desc.arguments.values()]
    return LaunchDescription(arguments + [OpaqueFunction(function=_launch_setup)])
