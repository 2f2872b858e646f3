"""Jobs: the nightly job (pull, ingest, retrain, gate, publish), its scheduler, the report
and the demo."""
