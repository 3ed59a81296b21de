"""The API's routers, one per resource; :func:`paved.server.create_app` includes them in order."""

__all__: list[str] = []
