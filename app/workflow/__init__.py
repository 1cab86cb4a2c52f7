"""Workflow adapter: the only package that imports SpiffWorkflow (see engine.py)."""
