"""Stack config: parsed into pydantic models before any resource exists.

Two sources feed the same models: the Pulumi runtime (what `pulumi up` hands the program) and the
stack file on disk (what the offline plan and the fleet checks read). A bad value becomes one
`ConfigError` naming the stack file, the key path, what is wrong and what would be valid.

The modules: `base` (namespace, model base, did-you-mean), `cell` (`myark:cell`), `global_`
(`myark:global`: zones, placement, sign-in), `edge` (`myark:edge`), `stack` (`StackConfig`,
`StackSettings`), `messages` (one line per bad stack file), `parse` (`parse_stack`), `stack_files`
(`PROJECT_ROOT`, reading and loading `Pulumi.<stack>.yaml`). Code in the repo imports from them;
the names below are re-exported for code written against the single module this package was.
"""

from __future__ import annotations

from cells.core.config.base import NAMESPACE, did_you_mean
from cells.core.config.cell import FARGATE_SIZES, LOG_RETENTION_DAYS, ApiSpec, CellSpec
from cells.core.config.edge import EdgeSpec
from cells.core.config.global_ import ISO_COUNTRIES, GlobalSpec, ZoneSpec
from cells.core.config.parse import parse_stack
from cells.core.config.stack import StackConfig, StackSettings
from cells.core.config.stack_files import (
    PROJECT_ROOT,
    StackFile,
    list_stacks,
    load_stack,
    load_yaml,
    read_stack_file,
    stack_file,
)
from cells.core.errors import ConfigError

__all__ = [
    "FARGATE_SIZES",
    "ISO_COUNTRIES",
    "LOG_RETENTION_DAYS",
    "NAMESPACE",
    "PROJECT_ROOT",
    "ApiSpec",
    "CellSpec",
    "ConfigError",
    "EdgeSpec",
    "GlobalSpec",
    "StackConfig",
    "StackFile",
    "StackSettings",
    "ZoneSpec",
    "did_you_mean",
    "list_stacks",
    "load_stack",
    "load_yaml",
    "parse_stack",
    "read_stack_file",
    "stack_file",
]
