"""The screening pipeline: validate, enrich from the store, evaluate, score and persist one
screening, with concurrent screenings sharing one durable commit.

It depends on the screening core, the store's port and privacy; nothing of gRPC.
"""
