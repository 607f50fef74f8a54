"""The store: tables, engine, migrations. Only shells (CLI, API, web, importer) import it."""
