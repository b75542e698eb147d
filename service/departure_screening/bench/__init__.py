"""``depscreen bench``: the service measured against baselines in child processes on loopback.

It talks to the servers over gRPC as a client would, and imports nothing of the pipeline.
"""
