"""``python -m defender_air_provider.native <engine address>``: the plugin, as the console script starts it."""

from .server import main

main()
