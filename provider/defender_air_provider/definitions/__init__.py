"""One declarative definition per resource (plain data): ``fields.py`` holds the shape, ``enums.py`` the closed
sets of strings, and one module per resource its definition (import it from that module)."""

from .fields import Field, Kind, ObjectType, ResourceDefinition

__all__ = ["Field", "Kind", "ObjectType", "ResourceDefinition"]
