from plugin.common import WHO
from synapse_sdk.plugins import action


@action(name="train")
def train(params, ctx):
    """Pretend to train."""
    return {"plugin": WHO}
