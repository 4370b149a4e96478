"""pytest plugin entry point (``pytest11``) of synapse_testing."""
