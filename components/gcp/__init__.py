"""Everything mlfabric knows about GCP: its provider and prerequisites, one module per concern,
the fake computed outputs of the offline plan and its spec rules.

Importing this package imports no provider SDK; the concern modules do.
"""
