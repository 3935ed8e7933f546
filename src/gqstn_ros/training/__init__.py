"""Training and evaluation of the networks (GQ-CNN, GQ-STN, DirectGrasp, MultiGrasp)."""
