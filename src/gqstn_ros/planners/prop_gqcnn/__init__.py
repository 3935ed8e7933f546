"""Prop+GQ-CNN: antipodal candidates sampled on the frame, ranked by a trained GQ-CNN.

The sampling and ranking are `planner.py`, built on `grasping.antipodal` and
`grasping.target`; `loader.py` reads the ranking checkpoint. The fallback node serves it on
/plan_grasp.
"""

from gqstn_ros.detection import PlannerSpec

PLANNER = PlannerSpec(
    name="prop_gqcnn",
    label="Prop+GQ-CNN",
    loader="gqstn_ros.planners.prop_gqcnn.loader:load_prop_planner",
    checkpoints=("gqcnn_fast.pt", "gqcnn.pt"),  # the first one present ranks
    options=("num_candidates", "ranking_model", "view_scale"),
    fallback=True,
)
