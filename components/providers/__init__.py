"""One explicit provider per platform, built from the spec (region, account) so the spec is the
single source of truth; ``<cloud>.py`` each define ``create_provider``."""
