"""`python -m mlfabric` runs the CLI."""

from mlfabric.cli import main

main()
