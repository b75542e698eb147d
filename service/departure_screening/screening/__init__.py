"""The screening core: the ruleset as data, the facts built from a screening, the durable-rules
engine that evaluates them, and the score, band and action that follow.

It knows the domain's plain values and nothing of gRPC, of the store or of serving.
"""
