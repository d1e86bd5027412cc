"""``python -m defender_air_provider.native <engine address>``: the plugin, as the console script starts it."""

from .server import main

if __name__ == "__main__":  # importing the module (pkgutil.walk_packages, docs tools) must not start a server
    main()
