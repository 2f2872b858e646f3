"""dotify's tests; helpers are imported as ``tests.<module>`` in any pytest import mode."""
