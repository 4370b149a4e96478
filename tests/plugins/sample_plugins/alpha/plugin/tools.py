import plugin.common
from synapse_sdk.plugins import action


@action(description="Say hello")
def greet(params, ctx):
    return {"greeting": f"hello {params.get('name', 'there')} from {plugin.common.WHO}"}
