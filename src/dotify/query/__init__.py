"""Answering queries: country arithmetic, recommendations, similarity and taste maps."""
