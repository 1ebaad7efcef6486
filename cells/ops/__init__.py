"""Live operations: tools a platform engineer runs against a live account once the stacks are up.

`audit` (residency), `status` (health) and `drain`/`activate`/`down` (cell status in the directory and
at the edge). Each module keeps its decisions in plain functions over plain data and its AWS calls in
a thin shell; `cells.ops.cli` wires them into `python -m cells`.
"""
