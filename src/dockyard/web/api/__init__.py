"""Docker Hub's REST API: the same paths and JSON fields, so Hub tools work by changing the host."""
