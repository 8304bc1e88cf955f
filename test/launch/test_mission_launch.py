"""launch_testing: the launch file runs a whole simulated mission to completion.

Runs on a ROS 2 install (``launch_test test/launch/test_mission_launch.py`` or colcon test);
skipped here because launch_testing is not pip-installable.
"""

import os
import tempfile
import unittest

import pytest

pytest.importorskip('launch_testing', reason='ROS 2 launch_testing is not installed')
pytest.importorskip('launch_ros', reason='ROS 2 launch_ros is not installed')

import launch  # noqa: E402
import launch_testing.actions  # noqa: E402
import rclpy  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from std_msgs.msg import String  # noqa: E402

from demining_bringup.contract import qos, stack as st, topics  # noqa: E402

_RUN_DIR = tempfile.mkdtemp(prefix='demining_launch_test_')
_MISSION_TIMEOUT_S = 600.0


@pytest.mark.launch_test
def generate_test_description():
    include = launch.actions.IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(st.share_dir(), 'launch',
                                                   'demining.launch.py')),
        launch_arguments={'world': 'training_field', 'run_dir': _RUN_DIR,
                          'real_time_factor': '10.0'}.items())
    return launch.LaunchDescription([include, launch_testing.actions.ReadyToTest()])


class TestMissionCompletes(unittest.TestCase):

    def test_mission_reaches_complete_and_writes_report(self):
        rclpy.init()
        node = rclpy.create_node('mission_watch')
        states = []
        node.create_subscription(String, topics.MISSION_STATE, lambda m: states.append(m.data),
                                 qos.LATCHED)
        try:
            end = node.get_clock().now().nanoseconds + int(_MISSION_TIMEOUT_S * 1e9)
            while node.get_clock().now().nanoseconds < end and not (
                    states and states[-1] in ('complete', 'aborted')):
                rclpy.spin_once(node, timeout_sec=0.5)
        finally:
            node.destroy_node()
            rclpy.shutdown()
        self.assertEqual(states[-1], 'complete')
        self.assertTrue(os.path.isfile(os.path.join(_RUN_DIR, 'summary.json')))
