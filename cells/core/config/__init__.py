"""Stack config: parsed into pydantic models before any resource exists.

Two sources feed the same models: the Pulumi runtime (what `pulumi up` hands the program) and the
stack file on disk (what the offline plan and the fleet checks read). A bad value becomes one
`ConfigError` naming the stack file, the key path, what is wrong and what would be valid.

The modules: `base` (namespace, model base, did-you-mean), `cell` (`myark:cell`), `global_`
(`myark:global`: zones, placement, sign-in), `edge` (`myark:edge`), `stack` (`StackConfig`,
`StackSettings`), `messages` (one line per bad stack file), `parse` (`parse_stack`), `stack_files`
(`PROJECT_ROOT`, reading and loading `Pulumi.<stack>.yaml`). Import from them; this
package re-exports nothing.
"""
