import torch
from conftest import NORM, random_targets, smooth_views, spread_heads, tiny_multigrasp

from gqstn_ros.planners.multigrasp.model import cell_centers, multigrasp_loss, target_cells


def test_cells_and_the_winner():
    model = spread_heads(tiny_multigrasp(), std=2.0).eval()
    out = model(smooth_views(3, size=224))
    assert out.confidence_logits.shape == (3, 7, 7)
    assert out.cells.x.shape == (3, 7, 7)
    best = out.confidence_logits.reshape(3, -1).argmax(1)
    assert torch.equal(out.best_cell, best)
    assert torch.allclose(out.x, out.cells.x.reshape(3, -1)[torch.arange(3), best])
    # each cell's centre stays inside its cell
    cx, cy = cell_centers(7)
    assert torch.all((out.cells.x - cx).abs() <= 1 / 7 + 1e-6)
    assert torch.all((out.cells.y - cy).abs() <= 1 / 7 + 1e-6)
    assert torch.all(out.s > 0)


def test_target_cell_holds_the_grasp_centre():
    xy = torch.tensor([[-0.99, -0.99], [0.0, 0.0], [0.99, -0.99], [0.3, 0.5]])
    cells = target_cells(xy, 7)
    assert cells.tolist() == [0, 24, 6, 5 * 7 + 4]


def test_loss_decreases_on_a_tiny_overfit():
    model = tiny_multigrasp().train()
    views, target = smooth_views(4), random_targets(4)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(12):
        loss = multigrasp_loss(model(views), target, NORM.scale_mean)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses
