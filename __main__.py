"""Pulumi entry point: `pulumi up -s <stack>` runs this file."""

from components.program import run

run()
