"""The API's routers, one per resource; :func:`paved.server.create_app` includes them in order."""
