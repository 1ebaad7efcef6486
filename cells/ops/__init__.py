"""Live operations: tools a platform engineer runs against a live account once the stacks are up.

`audit` (residency), `status`/`bake` (health, the release gate), `drain`/`activate`/`down` (cell
status in the directory and at the edge) and `reconcile` (the edge made to follow the directory). Each
module keeps its decisions in plain functions over plain data and its AWS calls in a thin shell;
`cells.cli.ops` and `cells.cli.move` wire them (and the moves) into `python -m cells`.
"""
