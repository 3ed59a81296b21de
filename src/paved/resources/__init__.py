"""``paved add`` and ``paved remove``: a service's data resources, as a reviewed change.

A data resource (a database, a bucket, a queue: :class:`paved.models.DataResource`) is an
entry of the road layer's ``data_resources`` answer. Adding one renders the road layer again
at the version the service has, with the new answer, and merges the difference into the
service the way ``paved update`` merges a new version (:mod:`paved.update`): the Terraform,
the IAM grant, the overlays' connection settings and the catalog entity all come from the
road's templates, which the platform team owns and updates like the rest of the road.
"""

from paved.resources._engine import (
    TRAILER,
    ResourceRequest,
    ResourceResult,
    add_resource,
    list_resources,
    remove_resource,
    resource_rows,
)

__all__ = [
    "TRAILER",
    "ResourceRequest",
    "ResourceResult",
    "add_resource",
    "list_resources",
    "remove_resource",
    "resource_rows",
]
