"""``defender-air export``: read a configured tenant and write the Pulumi program that declares it (docs/export.md).

* ``snapshot.py`` reads the tenant: one list call per kind, then the Entra group names (reads only);
* ``declarations.py`` decides what the program declares, from the handlers' own read mapping and checks;
* ``program.py`` writes the program's text;
* ``files.py`` puts them together and writes the files (nothing at all when a read fails);
* ``command.py`` is the subcommand. This package's own import is empty, so every other ``defender-air`` command
  starts without loading the handlers.
"""
