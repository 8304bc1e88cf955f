"""Load the one description of the stack (config/stack.yaml) and a vehicle profile.

Both ``launch/demining.launch.py`` and ``demine run`` turn the description into the same list
of :class:`ResolvedNode` (module, class, name, final parameter values) through
:func:`resolve_stack`, so the launch file and the CLI cannot drift apart.
No rclpy import: the CLI validates a configuration before anything starts.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import sys
from typing import Any, Dict, List, Mapping, Optional, Set, Type

import yaml

from demining_bringup.contract import vehicle_params
from demining_bringup.contract.component import Component
from demining_bringup.contract.errors import ConfigError
from demining_bringup.contract.parameters import ParamSpec, schema_of
from demining_sim.worlds_index import find_world, list_worlds, worlds_dir  # noqa: F401

PACKAGE = 'demining'
WILDCARD = '/**'
_VAR = re.compile(r'\$\(var ([A-Za-z_][A-Za-z0-9_]*)\)')
_PARAMS_KEY = 'ros__parameters'


def share_dir() -> str:
    """Return the folder holding ``config/``, ``launch/`` and ``worlds/``.

    Order: ``$DEMINING_SHARE``; the ament index (colcon install); ``<prefix>/share/demining``
    (pip install); the source tree (editable install, tests).
    """
    env = os.environ.get('DEMINING_SHARE')
    if env:
        return env
    try:
        from ament_index_python.packages import (PackageNotFoundError,
                                                 get_package_share_directory)
        try:
            return get_package_share_directory(PACKAGE)
        except (PackageNotFoundError, OSError, LookupError):
            # Not in an ament index (pip install, source tree, or AMENT_PREFIX_PATH unset).
            pass
    except ImportError:
        pass
    source = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.isfile(os.path.join(source, 'config', 'stack.yaml')):
        return source
    prefix = os.path.join(sys.prefix, 'share', PACKAGE)
    if os.path.isdir(prefix):
        return prefix
    return source


def profiles_dir() -> str:
    """Return the folder of the vehicle profiles."""
    return os.path.join(share_dir(), 'config', 'vehicles')


def list_profiles() -> List[str]:
    """Return the names of the bundled vehicle profiles."""
    return sorted(f[:-5] for f in os.listdir(profiles_dir()) if f.endswith('.yaml'))


def find_profile(name_or_path: str) -> str:
    """Resolve a profile name (``mv4_flail``) or a parameter-file path to a file path."""
    if name_or_path.endswith(('.yaml', '.yml')) and os.path.isfile(name_or_path):
        return os.path.abspath(name_or_path)
    path = os.path.join(profiles_dir(), name_or_path + '.yaml')
    if os.sep not in name_or_path and os.path.isfile(path):
        return path
    raise ConfigError(f'unknown vehicle profile {name_or_path!r} (known: '
                      f'{", ".join(list_profiles())}; or a path to a .yaml parameter file)')


@dataclasses.dataclass(frozen=True)
class ArgumentSpec:
    """A launch argument of the stack."""

    name: str
    default: str
    description: str
    choices: Optional[tuple] = None


@dataclasses.dataclass(frozen=True)
class NodeSpec:
    """A node of the stack as described in config/stack.yaml."""

    name: str
    module: str
    class_name: str
    when: Mapping[str, str] = dataclasses.field(default_factory=dict)
    clock_source: bool = False
    parameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def executable(self) -> str:
        """The console_scripts entry (one module per node, same name)."""
        return self.module.rsplit('.', 1)[-1]


@dataclasses.dataclass(frozen=True)
class ManagerSpec:
    """The lifecycle manager of the stack (not a component: it manages them)."""

    name: str
    executable: str
    parameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class StackDescription:
    """The parsed stack description."""

    arguments: Mapping[str, ArgumentSpec]
    nodes: List[NodeSpec]
    global_parameters: Mapping[str, Any]
    path: str = ''
    manager: Optional[ManagerSpec] = None


@dataclasses.dataclass
class ResolvedNode:
    """A node ready to start: what to import and the final parameter values."""

    name: str
    module: str
    class_name: str
    executable: str
    parameters: Dict[str, Any]
    clock_source: bool = False

    def component(self) -> Type[Component]:
        """Import the node's component class (ConfigError when it cannot be loaded)."""
        return load_component(self.module, self.class_name, self.name)


def load_component(module: str, class_name: str, node: str = '') -> Type[Component]:
    """Import ``module.class_name``, which must be a :class:`Component` subclass."""
    try:
        cls = getattr(importlib.import_module(module), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f'node {node or class_name}: cannot load {module}.{class_name} '
                          f'({exc})') from None
    if not (isinstance(cls, type) and issubclass(cls, Component)):
        raise ConfigError(f'node {node}: {module}.{class_name} is not a Component')
    return cls


def _typed(spec: ParamSpec, value: Any) -> Any:
    """A launch-argument value typed as the schema wants it (``20`` for a double is 20.0)."""
    if isinstance(value, bool):
        return value
    if spec.type is float and isinstance(value, int):
        return float(value)
    if spec.type is str and isinstance(value, (int, float)):
        return str(value)               # an id like task_id:=123 stays the text it was given
    if spec.type is list and spec.item_type is float and isinstance(value, list):
        return [float(v) if isinstance(v, int) and not isinstance(v, bool) else v
                for v in value]
    return value


def check_profile(nodes: List['ResolvedNode'], profile: Mapping[str, Mapping[str, Any]]
                  ) -> None:
    """Refuse profile parameters no node declares (a typo must not pass silently), and a
    vehicle whose boom does not cover its tracks (:func:`check_boom_covers_tracks`)."""
    declared: Set[str] = {'use_sim_time'}
    for spec in nodes:
        names = set(schema_of(spec.component().params)) | {'use_sim_time'}
        declared |= names
        for key in profile.get(spec.name, {}):
            if key not in names:
                raise ConfigError(f'parameter file: {spec.name}.{key}: unknown parameter')
    for key in profile.get(WILDCARD, {}):
        if key not in declared:
            raise ConfigError(f'parameter file: /**.{key}: no node declares this parameter')
    check_boom_covers_tracks(profile.get(WILDCARD, {}))


def check_boom_covers_tracks(shared: Mapping[str, Any]) -> None:
    """Refuse a vehicle whose GPR/MD boom does not scan the ground its tracks will press.

    ``shared``: the profile's ``/**`` parameters (absent ones take their defaults). The boom
    is the only guard of the tracks against an AT mine: a track outside its swath rolls over
    ground no sensor looked at, even driving straight. Covering the tracks' span exactly is
    not enough either (docs/architecture.md, "Vehicle concept": on a bend the tracks cut
    inside the swath the boom swept ahead of them), which the profiles' margins allow for.
    """
    def value(name: str) -> float:
        return float(shared.get(name, getattr(vehicle_params, name)().default))

    span = value('track_gauge_m') + value('track_width_m')
    boom = value('sensor_width_m')
    if boom < span:
        raise ConfigError(f'parameter file: /**.sensor_width_m: the boom ({boom:g} m) is '
                          f'narrower than the tracks\' span ({span:g} m, track_gauge_m + '
                          'track_width_m): the tracks would run on ground it never scans')


def _read_yaml(path: str, what: str) -> Any:
    try:
        with open(path, encoding='utf-8') as f:
            return yaml.safe_load(f)
    except OSError as exc:
        raise ConfigError(f'{what} {path}: cannot read ({exc.strerror})') from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = f' line {mark.line + 1}' if mark is not None else ''
        raise ConfigError(f'{what} {path}:{where} malformed YAML '
                          f'({getattr(exc, "problem", None) or exc})') from None


def load_stack(path: Optional[str] = None) -> StackDescription:
    """Parse config/stack.yaml (or ``path``)."""
    path = path or os.path.join(share_dir(), 'config', 'stack.yaml')
    doc = _read_yaml(path, 'stack description')
    if not isinstance(doc, dict) or not isinstance(doc.get('nodes'), list):
        raise ConfigError(f'stack description {path}: needs a `nodes` list')
    args = {}
    for name, body in (doc.get('arguments') or {}).items():
        body = body or {}
        args[name] = ArgumentSpec(name=name, default=str(body.get('default', '')),
                                  description=str(body.get('description', '')),
                                  choices=tuple(body['choices']) if body.get('choices') else None)
    nodes = []
    for i, body in enumerate(doc['nodes']):
        try:
            nodes.append(NodeSpec(name=body['name'], module=body['module'],
                                  class_name=body['class'], when=dict(body.get('when') or {}),
                                  clock_source=bool(body.get('clock_source', False)),
                                  parameters=dict(body.get('parameters') or {})))
        except (KeyError, TypeError) as exc:
            raise ConfigError(f'stack description {path}: node #{i} lacks {exc}') from None
    manager = None
    if doc.get('lifecycle_manager'):
        body = doc['lifecycle_manager']
        manager = ManagerSpec(name=str(body.get('name', 'lifecycle_manager')),
                              executable=str(body.get('executable', 'lifecycle_manager')),
                              parameters=dict(body.get('parameters') or {}))
    return StackDescription(arguments=args, nodes=nodes,
                            global_parameters=dict(doc.get('global_parameters') or {}),
                            path=path, manager=manager)


def resolve_manager(stack: StackDescription, args: Mapping[str, str],
                    nodes: List['ResolvedNode']) -> Dict[str, Any]:
    """The lifecycle manager's parameters: the managed nodes in order, autostart, ..."""
    params: Dict[str, Any] = {'node_names': [n.name for n in nodes]}
    if stack.manager is not None:
        params.update({k: substitute(v, args) for k, v in stack.manager.parameters.items()})
    return params


def load_profile(path: str) -> Dict[str, Dict[str, Any]]:
    """Read a ROS 2 parameter file: ``{node name or '/**': {param: value}}``."""
    doc = _read_yaml(path, 'parameter file')
    if not isinstance(doc, dict):
        raise ConfigError(f'parameter file {path}: expected `<node name>: ros__parameters: ...`')
    out: Dict[str, Dict[str, Any]] = {}
    for node, body in doc.items():
        if not isinstance(body, dict) or not isinstance(body.get(_PARAMS_KEY), dict):
            raise ConfigError(f'parameter file {path}: section {node!r} needs a '
                              f'`{_PARAMS_KEY}` mapping')
        name = str(node).lstrip('/') if node != WILDCARD else WILDCARD
        out[name] = dict(body[_PARAMS_KEY])
    return out


def scenario_overrides(setup: Any, where: str) -> Dict[str, Dict[str, Any]]:
    """A scenario's parameter overrides: ``setup.parameters`` (node name -> {name: value}).

    ``setup`` is the scenario's ``setup`` mapping (or None); ``where`` names the file in the
    error. Returns {} when there is none. Apply them with :func:`with_overrides` and check
    the result with :func:`check_profile`, like a profile's own parameters.
    """
    overrides = setup.get('parameters') if isinstance(setup, dict) else None
    overrides = overrides or {}
    if not isinstance(overrides, dict) or not all(
            isinstance(v, dict) for v in overrides.values()):
        raise ConfigError(f'scenario {where}: setup.parameters must map node names to '
                          '{parameter: value}')
    return {str(k): dict(v) for k, v in overrides.items()}


def scenario_file_overrides(path: str) -> Dict[str, Dict[str, Any]]:
    """The parameter overrides (:func:`scenario_overrides`) of the scenario file ``path``;
    {} for no path. A file that cannot be read or parsed is a :class:`ConfigError`."""
    if not path:
        return {}
    try:
        with open(path, 'r', encoding='utf-8') as f:
            doc = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f'scenario file {path!r}: {exc}') from exc
    return scenario_overrides(doc.get('setup') if isinstance(doc, dict) else None, path)


def with_overrides(profile: Mapping[str, Mapping[str, Any]],
                   overrides: Mapping[str, Mapping[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """A copy of a loaded profile with per-node overrides merged over its node sections."""
    out = {node: dict(values) for node, values in profile.items()}
    for node, values in overrides.items():
        out.setdefault(node, {}).update(values)
    return out


def resolve_arguments(stack: StackDescription, given: Mapping[str, Any]) -> Dict[str, str]:
    """Merge given launch arguments over the defaults; check names and choices."""
    unknown = sorted(set(given) - set(stack.arguments))
    if unknown:
        raise ConfigError(f'unknown argument {unknown[0]!r} (known: '
                          f'{", ".join(stack.arguments)})')
    values = {name: spec.default for name, spec in stack.arguments.items()}
    values.update({k: str(v) for k, v in given.items() if v is not None})
    for name, spec in stack.arguments.items():
        if spec.choices and values[name] not in spec.choices:
            raise ConfigError(f'argument {name}: {values[name]!r} is not one of '
                              f'{list(spec.choices)}')
    if 'world' in values:
        values['world'] = find_world(values['world'])
    if 'profile' in values:
        values['profile'] = find_profile(values['profile'])
    return values


def substitute(value: Any, args: Mapping[str, str]) -> Any:
    """Replace ``$(var NAME)``; a value that is one substitution is typed as YAML would."""
    if not isinstance(value, str):
        return value
    whole = _VAR.fullmatch(value.strip())
    for name in _VAR.findall(value):
        if name not in args:
            raise ConfigError(f'stack description uses undeclared argument {name!r}')
    text = _VAR.sub(lambda m: args[m.group(1)], value)
    if whole:
        typed = yaml.safe_load(text) if text else ''
        # Keep paths and names strings; numbers and booleans typed like launch_ros does.
        return typed if isinstance(typed, (bool, int, float)) else text
    return text


def resolve_stack(stack: StackDescription, args: Mapping[str, str],
                  profile: Mapping[str, Mapping[str, Any]]) -> List[ResolvedNode]:
    """Return the nodes to start for resolved ``args`` and a loaded ``profile``.

    Precedence (lowest first): profile ``/**``, stack ``global_parameters``, profile node
    section, stack node ``parameters`` (launch arguments win). Values are typed by the node's
    parameter schema, so ``real_time_factor:=20`` reaches a double parameter as 20.0.
    """
    known = {n.name for n in stack.nodes} | {WILDCARD}
    stray = sorted(set(profile) - known)
    if stray:
        raise ConfigError(f'parameter file: section {stray[0]!r} names no node of the stack '
                          f'(nodes: {", ".join(n.name for n in stack.nodes)})')
    use_sim_time = substitute('$(var use_sim_time)', args) if 'use_sim_time' in args else False
    out = []
    for spec in stack.nodes:
        if any(args.get(k) != v for k, v in spec.when.items()):
            continue
        params: Dict[str, Any] = {}
        params.update(profile.get(WILDCARD, {}))
        params.update({k: substitute(v, args) for k, v in stack.global_parameters.items()})
        params.update(profile.get(spec.name, {}))
        params.update({k: substitute(v, args) for k, v in spec.parameters.items()})
        params['use_sim_time'] = bool(use_sim_time) and not spec.clock_source
        schema = schema_of(load_component(spec.module, spec.class_name, spec.name).params)
        params = {k: _typed(schema[k], v) if k in schema else v for k, v in params.items()}
        out.append(ResolvedNode(name=spec.name, module=spec.module, class_name=spec.class_name,
                                executable=spec.executable, parameters=params,
                                clock_source=spec.clock_source))
    return out


def write_params_file(nodes: List[ResolvedNode], path: str) -> str:
    """Write the resolved parameters as a ROS 2 parameter file (what each process loads)."""
    doc = {n.name: {_PARAMS_KEY: n.parameters} for n in nodes}
    with open(path, 'w', encoding='utf-8') as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    return path
