"""synapse_testing: the pytest kit for testing synapse-sdk plugin actions."""
