"""Pulumi entry point: `pulumi up -s <stack>` runs this file."""

from mlfabric.components.program import run

run()
