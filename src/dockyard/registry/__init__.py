"""The registry's services: blobs, uploads, manifests, tags and referrers."""
