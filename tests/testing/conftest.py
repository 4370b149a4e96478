"""Load every module of the kit before pytester's in-process runs start.

pytester restores ``sys.modules`` after each inner run, dropping modules first imported
during it. The kit's lazily loaded names would then keep pointing at the dropped copies
(e.g. an old ``ProgressEvent`` class), so the outer process imports them all once here.
"""

import importlib.util

import synapse_sdk.plugins
import synapse_sdk.plugins.loading  # resolve_action, used by synapse_run(plugin, name)
import synapse_testing
import synapse_testing._roots  # the plugin-directory collector, used by inner runs

HAS_SYRUPY = importlib.util.find_spec("syrupy") is not None

for _name in synapse_testing.__all__:
    if HAS_SYRUPY or _name != "SynapseSnapshotExtension":
        getattr(synapse_testing, _name)
_ = synapse_sdk.plugins.__all__
