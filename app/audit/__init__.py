"""Audit log (审计日志): an append-only record of decisions, sign-ins, permission changes, deployments and exports."""
