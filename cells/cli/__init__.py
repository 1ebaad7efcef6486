"""`python -m cells`: one module per command group."""
