"""The bundled theme: `templates/` and `static/`, the defaults a site overrides file by file."""
