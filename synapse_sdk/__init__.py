"""synapse-sdk: write, run, test and explore typed ML plugin actions.

The public API lives in :mod:`synapse_sdk.plugins`.
"""

__version__ = "0.1.0"
