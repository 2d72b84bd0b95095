"""EndpointSlices and legacy Endpoints for Services with a selector."""
