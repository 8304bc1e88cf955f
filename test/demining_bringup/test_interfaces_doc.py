"""docs/interfaces.md and the code agree on topic names and message types."""

import importlib
import os
import re

from demining_bringup.contract import topics

_DOC = os.path.join(os.path.dirname(__file__), '..', '..', 'docs', 'interfaces.md')


def _table():
    rows = {}
    for line in open(_DOC, encoding='utf-8'):
        m = re.match(r'\| `(/[^`]+)` \| ([a-z_]+/[A-Za-z0-9]+)', line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def test_every_topic_constant_is_documented():
    documented = _table()
    names = [v for k, v in vars(topics).items()
             if k.isupper() and isinstance(v, str) and v.startswith('/')]
    services = {topics.SAFETY_RESET, topics.MISSION_START, topics.MISSION_ABORT}
    doc_text = open(_DOC, encoding='utf-8').read()
    for name in names:
        if name in services:
            assert f'`{name}`' in doc_text, name
        else:
            assert name in documented, f'{name} is missing from docs/interfaces.md'


def test_every_documented_type_exists():
    for topic, type_name in _table().items():
        pkg, msg = type_name.split('/')
        module = importlib.import_module(f'{pkg}.msg')
        assert hasattr(module, msg), f'{topic}: {type_name} does not exist'


def test_every_documented_topic_has_a_constant():
    names = {v for v in vars(topics).values() if isinstance(v, str)}
    for topic in _table():
        assert topic in names, f'{topic} is documented but has no constant in topics.py'
