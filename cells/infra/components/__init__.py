"""Pulumi components: each turns a validated spec into resources and decides nothing of its own."""
