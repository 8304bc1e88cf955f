"""The stack's contract: what every layer above agrees on and nothing below depends on.

Topic and service names (:mod:`.topics`), named QoS (:mod:`.qos`), the plain datatypes
(:mod:`.datatypes`) and state Enums (:mod:`.states`), the codec between them and ROS messages
(:mod:`.codec`) and the per-topic binding of both (:mod:`.wire`), parameter schemas
(:mod:`.parameters`, :mod:`.vehicle_params`), the world and hazard-area model
(:mod:`.world`, :mod:`.sdf`, :mod:`.area`, :mod:`.geo`), the component model every node's
behaviour is written in (:mod:`.component`) and the error types (:mod:`.errors`).

Modules here import only the standard library, numpy/shapely/yaml, ROS message packages and
each other: never the simulator, perception, control or the composition code in
:mod:`demining_bringup` (``test/test_imports.py`` checks it).
"""
