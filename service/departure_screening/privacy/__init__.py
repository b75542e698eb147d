"""Privacy: keyed pseudonyms for personal numbers and the masks shown in evidence.

Pure functions of their inputs; it depends on nothing else of the package.
"""
