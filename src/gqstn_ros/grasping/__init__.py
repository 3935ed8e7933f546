"""Grasp geometry, antipodal sampling, robustness labels and lift checks (pure Python core)."""
