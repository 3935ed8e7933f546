"""DirectGrasp (Redmon and Angelova 2015): the whole view regresses one grasp
(`model.py`); its grasp is judged by a separately trained GQ-CNN."""

from gqstn_ros.detection import PlannerSpec

PLANNER = PlannerSpec(
    name="directgrasp",
    label="DirectGrasp",
    network="gqstn_ros.planners.directgrasp.network",
    checkpoints=("directgrasp.pt", "gqcnn.pt"),
    loaded_by_default=True,
)
