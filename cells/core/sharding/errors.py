"""The errors of a sharding call the map cannot answer."""

from __future__ import annotations


class ShardMapError(ValueError):
    """A sharding call the map cannot answer: a bad UserID or an unknown TenantID."""


class InvalidUserIdError(ShardMapError):
    """The UserID cannot be hashed: empty, or not encodable as UTF-8."""


class UnknownTenantError(ShardMapError):
    """A TenantID that this cell's shard map does not know."""
