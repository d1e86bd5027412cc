"""The plugin folder's entry point: the language host runs ``python <this folder> <engine address>``."""

from defender_air_provider.native.server import main

main()
