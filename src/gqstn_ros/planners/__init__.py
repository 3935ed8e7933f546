"""The planners shipped with the package, one folder each.

A folder's `__init__.py` declares `PLANNER`, the planner's `detection.PlannerSpec`, and imports
nothing heavy; a one-shot network's folder also has `network.py`, whose `NETWORK` (a
`networks.configs.NetworkSpec`) says how to build, configure and train the network. The
folders are listed in `planner_registry.BUILTIN_PLANNERS`.
"""
