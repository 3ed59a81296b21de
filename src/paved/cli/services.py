"""``paved services``: read the catalog."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from paved.cli.catalogs import say_catalog
from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.completion import complete_services, complete_templates
from paved.cli.output import Column
from paved.errors import InputError
from paved.names import check_name

if TYPE_CHECKING:
    from paved.models import Service

__all__ = ["app", "services_json"]

app = typer.Typer(help="Read the service catalog.", no_args_is_help=True)


def services_json(services: "Sequence[Service]") -> list[dict[str, Any]]:
    """``[s.to_json() for s in services]``, made faster for a long list: the JSON of a layer
    or a catalog entry that several services share is made once, by its own ``to_json``.

    Each service's JSON is still made by ``Service.to_json``, over a view of the service
    whose layers and catalog entry answer ``to_json`` from that memo; the shared parts are
    only ever encoded, never changed.
    """
    from paved.models import Service

    made: dict[int, _Made] = {}  # by identity: the catalog hands out one object per value

    def once(value: Any) -> _Made:
        found = made.get(id(value))
        if found is None:
            found = made[id(value)] = _Made(value.to_json())
        return found

    return [
        Service.to_json(
            cast(Service, _View(s, tuple(once(ref) for ref in s.layers), once(s.catalog)))
        )
        for s in services
    ]


class _Made:
    """A value whose ``to_json`` was made already."""

    __slots__ = ("_json",)

    def __init__(self, made: Any) -> None:
        self._json = made

    def to_json(self) -> Any:
        return self._json


class _View:
    """A service with other layers and catalog entry; every other field is the service's."""

    __slots__ = ("_service", "catalog", "layers")

    def __init__(self, service: "Service", layers: tuple[_Made, ...], catalog: _Made) -> None:
        self._service, self.layers, self.catalog = service, layers, catalog

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)


@app.command("list")
@handle_errors
def list_services(
    ctx: typer.Context,
    owner: Annotated[
        str | None, typer.Option("--owner", "-o", metavar="TEAM", help="Only this team's services.")
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            metavar="SCAFFOLD",
            help="Only services made from this scaffold.",
            autocompletion=complete_templates,
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """List the services in the catalog."""
    runtime = runtime_of(ctx, json_output=json_output)
    if owner is not None:
        check_name(owner, what="owner team")
    catalog = runtime.catalog()
    services = catalog.list(owner=owner, template=template)
    out = runtime.out
    say_catalog(out, catalog)
    if out.json_mode:
        out.json({"schema": "paved/services/v1", "services": services_json(services)})
        return
    rows = [
        (
            s.name,
            s.owner,
            ", ".join(f"{ref.scaffold} {ref.version}" for ref in s.layers),
            s.created_at.date().isoformat(),
            s.repository,
        )
        for s in services
    ]
    out.table(
        [
            Column("NAME", shorten=False),
            Column("OWNER", shorten=False),
            Column("TEMPLATES", shorten=False, hide=1),
            Column("CREATED", shorten=False, hide=2),
            Column("REPOSITORY", shorten=True),
        ],
        rows,
        empty=f"No services in the catalog {catalog.location} yet. "
        "Create one: paved new service NAME --owner TEAM",
    )


@app.command("show")
@handle_errors
def show_service(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(metavar="NAME", help="The service name.", autocompletion=complete_services),
    ],
    json_output: JsonOption = False,
) -> None:
    """Show one service from the catalog."""
    runtime = runtime_of(ctx, json_output=json_output)
    check_name(name)
    catalog = runtime.catalog()
    service = catalog.get(name)
    if service is None:
        raise InputError(
            f"service '{name}' is not in the catalog {catalog.location}",
            hint="see 'paved services list'",
        )
    out = runtime.out
    say_catalog(out, catalog)
    if out.json_mode:
        out.json({"schema": "paved/service/v1", **service.to_json()})
        return
    out.fields(
        [
            ("name", service.name),
            ("owner", service.owner),
            ("description", service.description),
            ("repository", service.repository),
            *[(f"{ref.layer} layer", f"{ref.scaffold} {ref.version}") for ref in service.layers],
            ("created", service.to_json()["created_at"]),
        ]
    )


@app.command("archive")
@handle_errors
def archive_service(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(metavar="NAME", help="The service name.", autocompletion=complete_services),
    ],
) -> None:
    """Archive a service in the platform catalog (its name stays taken)."""
    runtime = runtime_of(ctx)
    check_name(name)
    catalog = runtime.catalog()
    archive = getattr(catalog, "archive", None)
    if archive is None:
        raise InputError(
            f"the local catalog {catalog.location} cannot archive services",
            hint="log in to the platform first: paved login URL",
        )
    service = archive(name)
    out = runtime.out
    if out.json_mode:  # docs/schemas/services-archive.schema.json
        out.json(
            {
                "schema": "paved/services-archive/v1",
                "name": service.name,
                "owner": service.owner,
                "catalog": catalog.location,
            }
        )
    out.info(f"archived service '{service.name}' in {catalog.location}")
    if not out.json_mode:
        out.line(service.name)
