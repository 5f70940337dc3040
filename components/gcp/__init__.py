"""Everything mlfabric knows about GCP, in one home:

- ``kit.py``: what the platform, the offline plan and the tools ask of GCP;
- ``provider.py``: the GCP provider of a platform (GCP needs no prerequisites before the concerns);
- one module per concern: ``network``, ``storage``, ``registry``, ``cluster``, ``monitoring``,
  ``serving``, ``rbac``; a concern module imports the shared helpers below, never a sibling concern;
- ``common.py``: what every concern shares (project, APIs, service agents, per-concern keys, names,
  the plain names other concerns grant IAM on); ``alerts.py``: the alert policies monitoring and
  serving both declare;
- SDK-free: ``fakes.py`` (the offline plan's computed outputs), ``spec_rules.py``, ``tags.py`` and
  ``cost_inventory.py``.

Importing this package imports no provider SDK; the concern modules do.
"""
