"""Engines that compute readiness statistics where the data lives (Spark: :mod:`readiness.engines.spark`)."""
