"""Tests of the stack description: the one list of nodes the launch file and CLI start."""

import os

import pytest

from demining_bringup import stack as st
from demining_bringup.contract.errors import ConfigError


@pytest.fixture
def desc():
    return st.load_stack()


def test_every_node_module_is_a_console_script_and_exists(desc):
    import importlib.util
    setup_py = open(os.path.join(os.path.dirname(__file__), '..', '..', 'setup.py')).read()
    for node in desc.nodes:
        assert importlib.util.find_spec(node.module) is not None, node.module
        assert f"'{node.module}'" in setup_py, f'{node.module} has no console_scripts entry'


def test_every_argument_has_a_description(desc):
    for arg in desc.arguments.values():
        assert arg.description, arg.name


def test_defaults_resolve_to_the_embedded_stack(desc):
    args = st.resolve_arguments(desc, {})
    assert os.path.isfile(args['world']) and args['world'].endswith('training_field.sdf')
    nodes = st.resolve_stack(desc, args, st.load_profile(args['profile']))
    names = [n.name for n in nodes]
    assert 'simulator' in names and 'sensor_emulator' not in names
    sim = nodes[names.index('simulator')]
    assert sim.parameters['use_sim_time'] is False
    assert sim.parameters['seed'] == 1 and sim.parameters['real_time_factor'] == 20.0
    follower = nodes[names.index('path_follower')]
    assert follower.parameters['use_sim_time'] is True
    assert follower.parameters['area_file'] == args['world']
    assert follower.parameters['tool_width_m'] == 2.0       # from the profile's /** section


def test_gazebo_backend_swaps_the_simulator_for_the_emulator(desc):
    args = st.resolve_arguments(desc, {'sim': 'gazebo'})
    names = [n.name for n in st.resolve_stack(desc, args, {})]
    assert 'sensor_emulator' in names and 'simulator' not in names


def test_precedence_launch_argument_over_profile(desc):
    args = st.resolve_arguments(desc, {'run_dir': '/tmp/x'})
    profile = {'/**': {'tool_width_m': 1.5},
               'mission_manager': {'report_dir': 'ignored', 'tool_width_m': 1.8}}
    nodes = {n.name: n for n in st.resolve_stack(desc, args, profile)}
    assert nodes['mission_manager'].parameters['report_dir'] == '/tmp/x'
    assert nodes['mission_manager'].parameters['tool_width_m'] == 1.8
    assert nodes['fusion'].parameters['tool_width_m'] == 1.5


@pytest.mark.parametrize('given, fragment', [
    ({'world': 'no_such_world'}, 'not found'),
    ({'profile': 'no_such_vehicle'}, 'unknown vehicle profile'),
    ({'sim': 'unity'}, 'not one of'),
    ({'colour': 'red'}, 'unknown argument'),
])
def test_bad_arguments_are_config_errors(desc, given, fragment):
    with pytest.raises(ConfigError, match=fragment):
        st.resolve_arguments(desc, given)


def test_profile_section_for_an_unknown_node_is_refused(desc):
    args = st.resolve_arguments(desc, {})
    with pytest.raises(ConfigError, match='names no node'):
        st.resolve_stack(desc, args, {'path_folower': {'x': 1}})


@pytest.mark.parametrize('text, fragment', [
    ('node: [1, 2', 'malformed YAML'),
    ('- a\n- b\n', 'expected'),
    ('fusion:\n  params: {}\n', 'ros__parameters'),
])
def test_malformed_parameter_files_are_config_errors(tmp_path, text, fragment):
    path = tmp_path / 'bad.yaml'
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment):
        st.load_profile(str(path))


def test_substitution_types_values_like_launch():
    args = {'a': '3', 'b': '2.5', 'c': 'true', 'd': '/x/y.sdf', 'e': ''}
    assert st.substitute('$(var a)', args) == 3
    assert st.substitute('$(var b)', args) == 2.5
    assert st.substitute('$(var c)', args) is True
    assert st.substitute('$(var d)', args) == '/x/y.sdf'
    assert st.substitute('$(var e)', args) == ''
    assert st.substitute('run-$(var a)', args) == 'run-3'
    with pytest.raises(ConfigError, match='undeclared'):
        st.substitute('$(var zzz)', args)


def test_params_file_round_trips(desc, tmp_path):
    args = st.resolve_arguments(desc, {})
    nodes = st.resolve_stack(desc, args, st.load_profile(args['profile']))
    path = st.write_params_file(nodes, str(tmp_path / 'p.yaml'))
    back = st.load_profile(path)
    assert back['fusion'] == nodes[[n.name for n in nodes].index('fusion')].parameters


def test_a_double_launch_argument_reaches_a_double_parameter():
    """``real_time_factor:=20`` (typed INTEGER by launch) must reach a DOUBLE parameter."""
    desc = st.load_stack()
    values = st.resolve_arguments(desc, {'real_time_factor': '20'})
    nodes = st.resolve_stack(desc, values, st.load_profile(values['profile']))
    sim = next(n for n in nodes if n.name == 'simulator')
    assert isinstance(sim.parameters['real_time_factor'], float)


def test_a_numeric_id_reaches_a_string_parameter_as_text():
    desc = st.load_stack()
    args = st.resolve_arguments(desc, {'task_id': '123', 'resume': ''})
    nodes = st.resolve_stack(desc, args, st.load_profile(args['profile']))
    mm = next(n for n in nodes if n.name == 'mission_manager')
    assert mm.parameters['task_id'] == '123' and mm.parameters['resume_dir'] == ''


def test_scenario_overrides_merge_over_a_copy_of_the_profile():
    profile = {'simulator': {'seed': 1, 'traction_coefficient': 0.6}}
    over = st.scenario_overrides({'parameters': {'simulator': {'traction_coefficient': 0.9},
                                                 'safety_supervisor': {'x': 1}}}, 'f.yaml')
    merged = st.with_overrides(profile, over)
    assert merged == {'simulator': {'seed': 1, 'traction_coefficient': 0.9},
                      'safety_supervisor': {'x': 1}}
    assert profile['simulator']['traction_coefficient'] == 0.6
    assert st.scenario_overrides({}, 'f.yaml') == {}
    assert st.scenario_overrides(None, 'f.yaml') == {}
    with pytest.raises(ConfigError, match='f.yaml: setup.parameters'):
        st.scenario_overrides({'parameters': {'simulator': 3}}, 'f.yaml')
