"""The data-source registry: every input of a region declared once.

A :class:`DataSource` says everything the package needs to know about one kind
of input file (a *role*): how to read it, whether a region needs it, which area
columns it adds and how it joins, where ``nhc-planner data fetch`` downloads it
(:class:`Download`), what the app's upload asks for, how the demo generator
writes a synthetic copy, and its publisher, licence and vintage.

Everything that used to keep its own list reads these declarations:
:class:`~nhc_planner.build.RegionInputs` (its ``sources.toml`` keys and
required roles), :func:`~nhc_planner.build.build_region` (the site files and
the extra per-area columns), :func:`~nhc_planner.download.fetch_area` (the
download list), :data:`nhc_planner.ui.UPLOAD_ROLES` (the app's uploads),
:func:`~nhc_planner.demo.generate_demo_files` (the demo files and their
manifest) and the table of sources in ``docs/data.md``.

Adding a source is one :func:`register_source` call::

    register_source(DataSource(
        role="car_availability",
        label="Car or van availability (Census 2021 TS045)",
        reader=read_area_values,
        join="area",
        adds=("no_car_share",),
        upload=(".csv",),
        publisher="ONS (Nomis)",
        vintage="Census 2021",
    ))

The new role is then a ``sources.toml`` key and a ``RegionInputs(extra=...)``
entry; the build joins its numeric columns onto ``region.areas`` (kept by
``Region.save/load``); the app offers its upload; ``data fetch`` downloads it
if it has a :class:`Download`; the demo writes it if it has a demo writer. See
``docs/architecture.md``, "How to add a data source".

The built-in declarations (:mod:`nhc_planner.sources._builtin_sources`) are
installed when this module is imported (a few frozen dataclasses, no I/O);
:func:`register_source` and :func:`unregister_source` change the registry of
the running process only.
"""

from __future__ import annotations

from nhc_planner._errors import ValueRangeError
from nhc_planner.sources._builtin_sources import BUILTIN
from nhc_planner.sources._datasource import (
    JOINS,
    DataSource,
    DemoContext,
    Download,
    read_area_values,
)

__all__ = [
    "BUILTIN_ROLES",
    "JOINS",
    "DataSource",
    "DemoContext",
    "Download",
    "data_sources",
    "get_source",
    "input_roles",
    "read_area_values",
    "register_source",
    "required_roles",
    "site_sources",
    "source_table_markdown",
    "unregister_source",
    "upload_sources",
]

#: Roles declared by nhc-planner itself (``RegionInputs`` has a field for each input one).
BUILTIN_ROLES: tuple[str, ...] = tuple(s.role for s in BUILTIN)

_REGISTRY: dict[str, DataSource] = {s.role: s for s in BUILTIN}


def register_source(source: DataSource, *, replace: bool = False) -> DataSource:
    """Declare a data source; returns it.

    Parameters
    ----------
    source
        The declaration.
    replace
        Allow replacing a declaration of the same role (e.g. a newer URL).

    Raises
    ------
    ValueRangeError
        The role is declared already (and ``replace`` is False), or is a
        built-in role whose declaration would no longer match ``RegionInputs``.
    """
    if source.role in _REGISTRY and not replace:
        msg = (
            f"data source '{source.role}' is declared already ({_REGISTRY[source.role].label}); "
            "pass replace=True to replace it"
        )
        raise ValueRangeError(msg)
    if source.role in BUILTIN_ROLES and (
        not source.is_input or source.join != _REGISTRY[source.role].join
    ):
        msg = f"built-in data source '{source.role}' must keep its join and stay a region input"
        raise ValueRangeError(msg)
    _REGISTRY[source.role] = source
    return source


def unregister_source(role: str) -> DataSource:
    """Remove a declared (non built-in) source; returns its declaration.

    Raises
    ------
    ValueRangeError
        Unknown role, or a built-in one (``RegionInputs`` has a field for it).
    """
    if role in BUILTIN_ROLES:
        msg = f"'{role}' is a built-in data source and cannot be removed (replace it instead)"
        raise ValueRangeError(msg)
    if role not in _REGISTRY:
        msg = f"no data source '{role}' is declared; declared: {list(_REGISTRY)}"
        raise ValueRangeError(msg)
    return _REGISTRY.pop(role)


def get_source(role: str) -> DataSource:
    """The declaration of ``role``.

    Raises
    ------
    ValueRangeError
        Unknown role (the message lists the declared ones).
    """
    try:
        return _REGISTRY[role]
    except KeyError:
        msg = f"no data source '{role}' is declared; declared: {list(_REGISTRY)}"
        raise ValueRangeError(msg) from None


def data_sources() -> tuple[DataSource, ...]:
    """Every declared source, built-in ones first, in declaration order."""
    return tuple(_REGISTRY.values())


def input_roles() -> tuple[str, ...]:
    """Roles that are ``sources.toml`` / ``RegionInputs`` keys."""
    return tuple(s.role for s in _REGISTRY.values() if s.is_input)


def required_roles() -> tuple[str, ...]:
    """Roles a region cannot be built without."""
    return tuple(s.role for s in _REGISTRY.values() if s.required)


def site_sources() -> tuple[DataSource, ...]:
    """Sources whose points join the sites table, in order."""
    return tuple(s for s in _REGISTRY.values() if s.join == "sites")


def upload_sources() -> tuple[DataSource, ...]:
    """Sources the app offers for upload, in the order it asks for them."""
    return tuple(s for s in _REGISTRY.values() if s.upload)


def source_table_markdown() -> str:
    """The Markdown table of every declared source (kept in ``docs/data.md``)."""
    lines = [
        "| role | what | required | join | publisher | licence | vintage | URL |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in _REGISTRY.values():
        url = f"<{s.url}>" if s.url else "supplied by the user"
        if s.download is None and s.url:
            url += " (by hand)"
        lines.append(
            f"| `{s.role}` | {s.label} | {'yes' if s.required else 'no'} | {s.join} | "
            f"{s.publisher or '-'} | {s.licence or '-'} | {s.vintage or '-'} | {url} |"
        )
    return "\n".join(lines) + "\n"
