"""The serving shell: configuration, the composition root, the gRPC server and the supervisor of
several server processes.

The only place that wires the store, the engine, the metrics and the API together.
"""
