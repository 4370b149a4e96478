"""``python -m synapse_sdk.cli``: the same as the ``synapse`` console script."""

from synapse_sdk.cli import main

raise SystemExit(main())
