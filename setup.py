"""ament_python setup of the demining package (colcon build, or pip install into a venv)."""

import os
from glob import glob

from setuptools import find_packages, setup

PACKAGE = 'demining'

NODES = [
    'demining_sim.simulator_node',
    'demining_sim.sensor_emulator_node',
    'demining_perception.localization_node',
    'demining_perception.gpr_processor_node',
    'demining_perception.md_processor_node',
    'demining_perception.fusion_node',
    'demining_control.coverage_planner_node',
    'demining_control.path_follower_node',
    'demining_control.tool_controller_node',
    'demining_control.people_monitor_node',
    'demining_control.cmd_mux_node',
    'demining_control.safety_supervisor_node',
    'demining_control.mission_manager_node',
]


def data_tree(target: str, source: str):
    """Return data_files entries installing ``source`` recursively under share/<target>."""
    entries = []
    for folder, _, files in os.walk(source):
        if '__pycache__' in folder or not files:
            continue
        entries.append((os.path.join('share', PACKAGE, target, os.path.relpath(folder, source)),
                        [os.path.join(folder, f) for f in files]))
    return entries


setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*', 'bench']),
    package_data={'demining_sim': ['worlds/*', 'worlds/**/*']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
        ('share/' + PACKAGE + '/launch', glob('launch/*.py')),
        *data_tree('config', 'config'),
        *data_tree('worlds', 'demining_sim/worlds'),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='Demining ROS maintainers',
    maintainer_email='maintainers@demining-ros.org',
    description='Autonomous humanitarian demining vehicle stack for ROS 2',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'demine = demining_bringup.cli:main',
            'lifecycle_manager = demining_bringup.lifecycle_manager_node:main',
            *[f'{m.rsplit(".", 1)[1]} = {m}:main' for m in NODES],
        ],
    },
)
