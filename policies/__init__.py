"""mlfabric CrossGuard policy pack (rules live in policies.rules)."""
