"""``paved services``: read the catalog."""

from typing import Annotated

import typer

from paved.cli.catalogs import say_catalog
from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.completion import complete_services, complete_templates
from paved.cli.output import Column
from paved.errors import InputError
from paved.names import check_name

app = typer.Typer(help="Read the service catalog.", no_args_is_help=True)


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
        out.json({"schema": "paved/services/v1", "services": [s.to_json() for s in services]})
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
