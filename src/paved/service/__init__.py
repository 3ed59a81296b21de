"""Services: making one (``new``), and where a service keeps the files paved reads (``layout``)."""

__all__: list[str] = []
