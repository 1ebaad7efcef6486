"""`python -m cells`: one module per command group.

Exit codes everywhere: 0 done, 1 failed (a violation, a stale file, unhealthy, an error), 2 a user
mistake (`cells.core.errors.UserError`, one line on stderr). `ops` adds 3 for an audit that finds
nothing of the cell.
"""

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
