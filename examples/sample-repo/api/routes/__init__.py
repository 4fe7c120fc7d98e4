"""HTTP route blueprints."""
