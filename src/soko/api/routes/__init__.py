"""One router per resource; ``soko.api.router`` mounts them under ``/api/v1``."""
