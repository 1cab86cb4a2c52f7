"""Running in production: health and readiness probes, request ids and JSON logs, Prometheus metrics,
content-hashed static files, backup and restore (README, "Production")."""
