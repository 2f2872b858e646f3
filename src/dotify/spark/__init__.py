"""Spark as the distributed engine: the session, the export of the store, ratings built on Spark."""
