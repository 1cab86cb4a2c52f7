"""Process administration: the province bureau reviews process versions and uploads edited diagrams."""
