"""HTTP layer: routes, request parsing and error mapping. No business rules live here."""
