"""Charts: every chart file format, validation, the fetchers (HTTP, folder) and ingest."""
