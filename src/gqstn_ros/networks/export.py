"""The inference graph of each planner, and its ONNX export checked against PyTorch.

`InferenceGraph`: view (B, 1, D, D) metres -> x, y, theta, s (B,), depth (B,) metres, q (B,),
crop (B, 1, c, c) metres. For a network with its own frozen GQ-CNN (GQ-STN,
`NetworkSpec.frozen_gqcnn`) the crop and q come out of its own cascade; for the others
(DirectGrasp, MultiGrasp) the crop of their grasp is cut with `preprocessing.extract_crops`
and judged by a separately trained GQ-CNN (the paper's evaluation of the baselines).

`GraspEvaluator`: one view (1, 1, D, D), N grasps (N, 4) and their depths (N,) -> q (N,) and
crops (N, 1, c, c): GQ-CNN on given grasps (the planner re-judges a grasp it had to narrow).

ONNX has no median operator; `torch.median(dim)` (the view reference of
`preprocessing.view_reference`) is exported as TopK of the lower half plus Gather, which gives
the same (lower) median as torch.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.onnx import symbolic_helper

from gqstn_ros.networks.checkpoint import CheckpointError, LoadedModel, load_checkpoint
from gqstn_ros.networks.configs import GQCNN_KIND, network_spec
from gqstn_ros.networks.gqcnn import GQCNN
from gqstn_ros.preprocessing import (
    Normalization,
    depth_offset_to_depth,
    extract_crops,
    gqcnn_inputs,
    view_reference,
)

OPSET = 20  # AffineGrid (torch affine_grid) needs opset 20
OUTPUT_NAMES = ("x", "y", "theta", "s", "depth", "q", "crop")
EVALUATOR_OUTPUT_NAMES = ("q", "crop")


class InferenceGraph(nn.Module):
    """view (B, 1, D, D) metres -> (x, y, theta, s, depth, q, crop); see the module docstring.

    network: one whose output carries its own depth, q and crop (GQ-STN), without `gqcnn`; or
    one that predicts a grasp (x, y, theta, s, z; DirectGrasp, MultiGrasp) with the `gqcnn`
    that judges it and its `gqcnn_normalization`.
    """

    def __init__(
        self,
        network: nn.Module,
        gqcnn: GQCNN | None = None,
        gqcnn_normalization: Normalization | None = None,
    ) -> None:
        super().__init__()
        self.network = network
        if gqcnn is None and gqcnn_normalization is None:
            self.evaluator = None  # the network judges its own grasp
        elif gqcnn is None or gqcnn_normalization is None:
            raise ValueError("a network judged by a GQ-CNN needs the GQ-CNN and its normalization")
        else:
            self.evaluator = GraspEvaluator(gqcnn, gqcnn_normalization)

    def forward(self, views_m: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.evaluator is None:
            out = self.network(views_m)
            return out.x, out.y, out.theta, out.s, out.depth, out.q, out.crop
        pred = self.network(views_m)
        references = view_reference(views_m)
        depth = depth_offset_to_depth(pred.z, views_m, self.network.normalization, references)
        crops = extract_crops(views_m, pred.params(), self.evaluator.crop_size)
        q = self.evaluator.judge(crops, depth, references)
        return pred.x, pred.y, pred.theta, pred.s, depth, q, crops


class GraspEvaluator(nn.Module):
    """GQ-CNN on given grasps of one view: (view (1, 1, D, D), params (N, 4), depths (N,))
    -> (q (N,), crops (N, 1, c, c) metres)."""

    def __init__(self, gqcnn: GQCNN, normalization: Normalization) -> None:
        super().__init__()
        self.gqcnn = gqcnn
        self.normalization = normalization

    @property
    def crop_size(self) -> int:
        return self.gqcnn.config.crop_size

    def judge(
        self, crops: torch.Tensor, depths: torch.Tensor, references: torch.Tensor
    ) -> torch.Tensor:
        image, pose = gqcnn_inputs(crops, depths, references, self.normalization)
        return self.gqcnn.robustness(image, pose)

    def forward(
        self, view_m: torch.Tensor, params: torch.Tensor, depths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.zeros_like(depths, dtype=torch.long)
        crops = extract_crops(view_m, params, self.crop_size, view_index=index)
        references = view_reference(view_m)[index]
        return self.judge(crops, depths, references), crops


def _median_symbolic(g, values, dim, keepdim):
    """aten::median(self, dim, keepdim) -> (values, indices) as ONNX TopK + Gather."""
    dim = symbolic_helper._get_const(dim, "i", "dim")
    keepdim = symbolic_helper._get_const(keepdim, "i", "keepdim")

    def const(value: int, shape: tuple[int, ...] = ()):
        return g.op("Constant", value_t=torch.tensor(value, dtype=torch.int64).reshape(shape))

    # torch returns the lower median: the k-th smallest, k = (n - 1) // 2 + 1 (n dynamic).
    size = g.op("Gather", g.op("Shape", values), const(dim), axis_i=0)
    last = g.op("Div", g.op("Sub", size, const(1)), const(2))  # k - 1, a scalar
    k_tensor = g.op("Unsqueeze", g.op("Add", last, const(1)), const(0, (1,)))
    smallest, indices = g.op(
        "TopK", values, k_tensor, axis_i=dim, largest_i=0, sorted_i=1, outputs=2
    )
    median = g.op("Gather", smallest, last, axis_i=dim)
    index = g.op("Gather", indices, last, axis_i=dim)
    if keepdim:
        axes = g.op("Constant", value_t=torch.tensor([dim], dtype=torch.int64))
        median, index = g.op("Unsqueeze", median, axes), g.op("Unsqueeze", index, axes)
    return median, index


def _register_symbolics() -> None:
    torch.onnx.register_custom_op_symbolic("aten::median", _median_symbolic, OPSET)


@contextmanager
def _quiet_export():
    """Register the median symbolic; silence the tracer's notes on the (static) shape checks
    and the legacy-exporter notice (the dynamo exporter needs onnxscript, not installed)."""
    _register_symbolics()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings(
            "ignore", "You are using the legacy TorchScript", DeprecationWarning
        )
        warnings.filterwarnings("ignore", "The feature will be removed", DeprecationWarning)
        # grid_sample's Slice with step -1 cannot be constant-folded: harmless
        warnings.filterwarnings("ignore", "Constant folding", UserWarning)
        yield


def export_inference_graph(graph: InferenceGraph, onnx_path: str | Path, input_size: int) -> Path:
    """Export `graph` to ONNX: input "view" (B, 1, input_size, input_size), outputs
    OUTPUT_NAMES, dynamic batch."""
    onnx_path = Path(onnx_path)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    graph = graph.eval()
    example = torch.full((1, 1, input_size, input_size), 0.7)
    dynamic = {"view": {0: "batch"}, **{name: {0: "batch"} for name in OUTPUT_NAMES}}
    with torch.no_grad(), _quiet_export():
        torch.onnx.export(
            graph,
            (example,),
            str(onnx_path),
            input_names=["view"],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )
    return onnx_path


def export_evaluator(evaluator: GraspEvaluator, onnx_path: str | Path, input_size: int) -> Path:
    """Export a GraspEvaluator: inputs "view" (1, 1, D, D), "params" (N, 4), "depths" (N,)."""
    onnx_path = Path(onnx_path)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    example = (
        torch.full((1, 1, input_size, input_size), 0.7),
        torch.tensor([[0.0, 0.0, 0.0, 0.6], [0.1, 0.1, 0.5, 0.5]]),
        torch.tensor([0.68, 0.69]),
    )
    dynamic = {name: {0: "grasps"} for name in ("params", "depths", *EVALUATOR_OUTPUT_NAMES)}
    with torch.no_grad(), _quiet_export():
        torch.onnx.export(
            evaluator.eval(),
            example,
            str(onnx_path),
            input_names=["view", "params", "depths"],
            output_names=list(EVALUATOR_OUTPUT_NAMES),
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )
    return onnx_path


def inference_graph_from_checkpoints(
    checkpoint: str | Path | LoadedModel, gqcnn_checkpoint: str | Path | LoadedModel | None = None
) -> tuple[InferenceGraph, LoadedModel]:
    """The InferenceGraph of a one-shot network's checkpoint (gqstn, multigrasp, directgrasp, a
    plug-in's; eval mode); a network without its own GQ-CNN also needs the GQ-CNN checkpoint."""
    loaded = checkpoint if isinstance(checkpoint, LoadedModel) else load_checkpoint(checkpoint)
    if loaded.kind == GQCNN_KIND:
        raise CheckpointError(f"{checkpoint}: a GQ-CNN checkpoint has no inference graph")
    if network_spec(loaded.kind).frozen_gqcnn:
        return InferenceGraph(loaded.model).eval(), loaded
    if gqcnn_checkpoint is None:
        raise ValueError(f"a {loaded.kind} inference graph needs the GQ-CNN checkpoint")
    gqcnn = (
        gqcnn_checkpoint
        if isinstance(gqcnn_checkpoint, LoadedModel)
        else load_checkpoint(gqcnn_checkpoint, expected_kind=GQCNN_KIND)
    )
    graph = InferenceGraph(loaded.model, gqcnn.model, gqcnn.normalization)
    return graph.eval(), loaded


def export_checkpoint(
    checkpoint: str | Path | LoadedModel,
    onnx_path: str | Path,
    gqcnn_checkpoint: str | Path | LoadedModel | None = None,
) -> Path:
    """Export the inference graph of a checkpoint (see `inference_graph_from_checkpoints`)."""
    graph, loaded = inference_graph_from_checkpoints(checkpoint, gqcnn_checkpoint)
    return export_inference_graph(graph, onnx_path, loaded.input_config.input_size)


def onnx_session(onnx_path: str | Path, threads: int | None = None):
    """An onnxruntime CPU session; `threads` sets intra-op threads (None: onnxruntime's)."""
    import onnxruntime  # noqa: PLC0415  (optional at import time of the package)

    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


def check_onnx_agreement(
    checkpoint: str | Path | LoadedModel,
    onnx_path: str | Path,
    views: torch.Tensor | np.ndarray,
    gqcnn_checkpoint: str | Path | LoadedModel | None = None,
) -> dict[str, float]:
    """Max abs difference, per output name, between PyTorch and onnxruntime on views
    (B, 1, D, D) metres."""
    graph, _ = inference_graph_from_checkpoints(checkpoint, gqcnn_checkpoint)
    views_t = torch.as_tensor(np.asarray(views, dtype=np.float32))
    with torch.no_grad():
        expected = [t.numpy() for t in graph(views_t)]
    actual = onnx_session(onnx_path).run(list(OUTPUT_NAMES), {"view": views_t.numpy()})
    return {
        name: float(np.max(np.abs(a - e)))
        for name, a, e in zip(OUTPUT_NAMES, actual, expected, strict=True)
    }
