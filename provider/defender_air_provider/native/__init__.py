"""The resources served as a native Pulumi provider plugin (``pulumi-resource-defender-air``), for every Pulumi
language, ``pulumi import`` and one tenant per provider instance. ``provider.py`` tells how it maps the engine's calls
onto the handlers the dynamic resources use; ``server.py`` how the plugin process starts."""
