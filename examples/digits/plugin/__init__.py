"""The digits example plugin: upload, train, infer and export actions."""
