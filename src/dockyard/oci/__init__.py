"""Pure OCI helpers: digests, names, media types, manifest parsing, error codes.

Nothing in this package imports anything else of Dockyard's, nor any web or database library.
"""
