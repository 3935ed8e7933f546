"""MultiGrasp (Redmon and Angelova 2015): one grasp per cell of a grid over the view, the most
confident cell wins (`model.py`); its grasp is judged by a separately trained
GQ-CNN."""

from gqstn_ros.detection import PlannerSpec

PLANNER = PlannerSpec(
    name="multigrasp",
    label="MultiGrasp",
    network="gqstn_ros.planners.multigrasp.network",
    checkpoints=("multigrasp.pt", "gqcnn.pt"),
    loaded_by_default=True,
)
