"""archbench's architecture registry.

The built-in family modules register their architectures at the registry's first use
(importing this package imports no torch); use :func:`list_archs` to see the names and
:func:`create` to build one.
"""

from architectures.registry import (
    MAX_PARAMETERS,
    ArchInfo,
    ArgumentError,
    DuplicateArchitectureError,
    UnknownArchitectureError,
    check_size,
    create,
    get_info,
    list_archs,
    natural_key,
    register,
    resolve_kwargs,
)

__all__ = [
    "MAX_PARAMETERS",
    "ArchInfo",
    "ArgumentError",
    "DuplicateArchitectureError",
    "UnknownArchitectureError",
    "check_size",
    "create",
    "get_info",
    "list_archs",
    "natural_key",
    "register",
    "resolve_kwargs",
]
