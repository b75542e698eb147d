"""The gRPC boundary: validation, proto ↔ domain translation and the servicer."""
