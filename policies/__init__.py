"""mlfabric CrossGuard policy pack (rules live in mlfabric.policies.rules)."""
