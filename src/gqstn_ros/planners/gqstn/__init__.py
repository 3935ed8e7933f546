"""GQ-STN: the paper's one-shot network, a spatial-transformer cascade judged by its own
frozen GQ-CNN (`model.py`)."""

from gqstn_ros.detection import PlannerSpec

PLANNER = PlannerSpec(
    name="gqstn",
    label="GQ-STN",
    network="gqstn_ros.planners.gqstn.network",
    checkpoints=("gqstn.pt",),
    loaded_by_default=True,
)
