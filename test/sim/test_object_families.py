"""The extended object families: closed meshes tiled by convex parts, sizes that follow the
gripper stroke, per-part densities that move the centre of mass, groups to hold out, and the
original families left exactly as they were."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
from scipy.spatial import ConvexHull

from gqstn_ros.geometry import matrix_to_quaternion
from gqstn_ros.grasping.lift_check import build_lift_model, simulate_lift
from gqstn_ros.sim.objects import (
    ALL_FAMILIES,
    EXTENDED_FAMILIES,
    FAMILIES,
    FAMILY_GROUPS,
    FAMILY_TAGS,
    MAX_STROKE,
    MIN_PICKABLE_THICKNESS,
    STROKE,
    UNGRASPABLE_FAMILIES,
    ObjectModel,
    box_solid,
    check_family_fits_gripper,
    family_grasp_widths,
    generate_object,
    generate_random_object,
    grasp_width,
    hold_out_families,
    object_from_solid,
    signed_volume,
)
from gqstn_ros.sim.scene import Scene

SEEDS = range(3)
# Triangles a mesh may have: the robustness label ray-casts it.
MAX_TRIANGLES = 3000
# Soft contacts let objects sink this little into the table (m).
CONTACT_TOLERANCE = 1e-3


def _hull_volume_and_centroid(points: np.ndarray) -> tuple[float, np.ndarray]:
    hull = ConvexHull(points)
    centre = points[hull.vertices].mean(axis=0)
    volume, moment = 0.0, np.zeros(3)
    for simplex in hull.simplices:
        a, b, c = points[simplex]
        tetra = abs(np.dot(a - centre, np.cross(b - centre, c - centre))) / 6.0
        volume += tetra
        moment += tetra * (a + b + c + centre) / 4.0
    return volume, moment / volume


def _edge_counts(faces: np.ndarray) -> dict[tuple[int, int], int]:
    counts: dict[tuple[int, int], int] = {}
    for a, b, c in faces.tolist():
        for edge in ((a, b), (b, c), (c, a)):
            counts[edge] = counts.get(edge, 0) + 1
    return counts


def test_the_registry_lists_every_family_once_with_tags() -> None:
    assert ALL_FAMILIES == FAMILIES + EXTENDED_FAMILIES and len(set(ALL_FAMILIES)) == 26
    assert len(FAMILIES) == 15  # the original families, still the default everywhere
    assert set(EXTENDED_FAMILIES) == {
        "composite", "superquadric", "bottle", "vase", "bowl", "cup", "extrusion",
        "thin_flat", "tool", "tiny", "tall_slender",
    }  # fmt: skip
    assert set(FAMILY_TAGS) == set(ALL_FAMILIES)
    for group in ("primitive", "composed", "revolution", "thin", "tool", "tiny", "slender"):
        assert FAMILY_GROUPS[group], group
    for group, members in FAMILY_GROUPS.items():
        assert all(group in FAMILY_TAGS[f] for f in members)
    assert {"bottle", "vase", "bowl", "cup", "mug"} <= set(FAMILY_GROUPS["revolution"])
    assert set(FAMILY_GROUPS["ungraspable"]) == set(UNGRASPABLE_FAMILIES)


@pytest.mark.parametrize("family", EXTENDED_FAMILIES)
def test_extended_family_is_closed_tiled_and_centred(family: str) -> None:
    for seed in SEEDS:
        obj = generate_object(family, seed)
        assert obj.name == f"{family}_{seed}" and obj.expected_graspable
        counts = _edge_counts(obj.faces)
        assert all(n == 1 for n in counts.values())
        assert all((b, a) in counts for a, b in counts)
        assert len(obj.faces) <= MAX_TRIANGLES
        volume = signed_volume(obj.vertices, obj.faces)
        assert volume > 0 and obj.volume == pytest.approx(volume, rel=1e-9)
        # The convex parts tile the solid: their volumes add up to the mesh's.
        parts = [_hull_volume_and_centroid(p) for p in obj.convex_parts]
        assert sum(v for v, _ in parts) == pytest.approx(volume, rel=1e-6)
        # Mass and centre of mass follow the parts' own densities; the origin is the centre.
        masses = [rho * v for rho, (v, _) in zip(obj.part_densities, parts, strict=True)]
        assert obj.mass == pytest.approx(sum(masses), rel=1e-6)
        centre = sum(m * c for m, (_, c) in zip(masses, parts, strict=True)) / obj.mass
        assert np.abs(centre).max() < 1e-6 * obj.bounding_radius
        assert obj.density == pytest.approx(obj.mass / volume, rel=1e-9)
        principal = np.linalg.eigvalsh(obj.inertia)
        assert np.allclose(obj.inertia, obj.inertia.T)
        assert principal.min() > 0 and principal[0] + principal[1] >= principal[2] * (1 - 1e-9)
        assert all(150.0 <= rho <= 7850.0 for rho in obj.part_densities)
        assert obj.friction is not None and 0.3 <= obj.friction <= 0.9


@pytest.mark.parametrize("family", EXTENDED_FAMILIES)
def test_extended_family_is_reproducible_and_varied(family: str) -> None:
    first, again = generate_object(family, 21), generate_object(family, 21)
    assert np.array_equal(first.vertices, again.vertices)
    assert np.array_equal(first.faces, again.faces)
    assert first.part_densities == again.part_densities and first.friction == again.friction
    assert all(
        np.array_equal(p, q) for p, q in zip(first.convex_parts, again.convex_parts, strict=True)
    )
    shapes = {
        np.round(np.sort(generate_object(family, seed).extents), 9).tobytes() for seed in range(25)
    }
    assert len(shapes) == 25


def test_hollow_and_concave_families_are_what_they_say() -> None:
    for family in ("bowl", "cup"):
        obj = generate_object(family, 4)
        # Open top: the convex hull holds much more than the thin-walled solid.
        assert ConvexHull(obj.vertices).volume > 3 * obj.volume
        assert len(obj.convex_parts) > 8
    for seed in range(6):
        # Holes through the extrusion: a closed surface of genus g has V - E + F = 2 - 2 g.
        extrusion = generate_object("extrusion", seed)
        euler = len(extrusion.vertices) - len(extrusion.faces) * 3 // 2 + len(extrusion.faces)
        assert euler <= 0
    tall = np.sort(generate_object("tall_slender", 4).extents)
    assert tall[2] > 5 * tall[0]
    flat = np.sort(generate_object("thin_flat", 4).extents)
    assert MIN_PICKABLE_THICKNESS < flat[0] <= 0.012 + 1e-12 and flat[0] < 0.25 * flat[1]
    assert 2 <= len(generate_object("composite", 4).convex_parts) <= 8


@pytest.mark.parametrize("family", ALL_FAMILIES)
def test_sizes_follow_the_stroke(family: str) -> None:
    for stroke in (STROKE, 0.05, 0.14):
        widths = family_grasp_widths(family, stroke)
        for seed in range(2):
            obj = generate_object(family, seed, stroke=stroke)
            assert obj.stroke == stroke
            if widths is None:
                assert not obj.expected_graspable
                continue
            # Fits between the jaws across its grasp width, within the family's range.
            assert widths[1] <= 0.9 * stroke
            assert widths[0] * (1 - 1e-9) <= grasp_width(obj) <= widths[1] * (1 + 1e-9)
            if "thin" in FAMILY_TAGS[family]:
                assert np.sort(obj.extents)[0] >= MIN_PICKABLE_THICKNESS


def test_original_families_scale_exactly_with_the_stroke() -> None:
    for family in ("box", "mug", "prism_concave", "stick"):
        base, large = generate_object(family, 5), generate_object(family, 5, stroke=2 * STROKE)
        assert large.name == f"{family}_5_stroke170000um"
        np.testing.assert_allclose(large.vertices, 2 * base.vertices, rtol=1e-9, atol=1e-12)
        assert large.mass == pytest.approx(8 * base.mass, rel=1e-9)
    # Sheets keep their thickness (too flat to pick at any stroke).
    sheet = np.sort(generate_object("sheet", 5, stroke=2 * STROKE).extents)
    assert sheet[0] < MIN_PICKABLE_THICKNESS and sheet[1] > 2 * STROKE


# Mass (kg) and sorted extents (m) of each original family's object for seed 3, as generated
# before the extended families existed: datasets built from these families depend on them.
ORIGINAL_SEED_3 = {
    "box": (0.0472659257645, (0.0213681075243, 0.0371288930607, 0.0851083295425)),
    "cylinder": (0.0102646706436, (0.0213681075243, 0.0213681075243, 0.0411546716728)),
    "sphere": (0.00351890938398, (0.0213681075243, 0.0213681075243, 0.0213681075243)),
    "ellipsoid": (0.0243534240407, (0.0213681075243, 0.0371288930607, 0.0851083295425)),
    "prism_convex": (0.0527857674175, (0.0450549016805, 0.0483962080293, 0.0546297271519)),
    "prism_concave": (0.0347977301564, (0.0376833197586, 0.0419019629044, 0.0657696299966)),
    "l_shape": (0.0466563485636, (0.0300693205729, 0.0525644465303, 0.056096125445)),
    "t_shape": (0.0715690990709, (0.0300693205729, 0.0723681075243, 0.0797806959617)),
    "u_shape": (0.069518909081, (0.0300693205729, 0.0590515572243, 0.0716400896036)),
    "mug": (0.0472189790848, (0.05201933123, 0.076950910222, 0.0845515572243)),
    "plate": (0.0176650753038, (0.00901758306798, 0.0446840537622, 0.0626288930607)),
    "disc": (0.00617220454499, (0.00565902251425, 0.0446840537622, 0.0446840537622)),
    "stick": (0.00802672105377, (0.0115193339591, 0.0115193339591, 0.110736215049)),
    "oversized": (0.800132899637, (0.106808001877, 0.106808001877, 0.128398748294)),
    "sheet": (0.0199604167908, (0.00212178425129, 0.10757824193, 0.124924005632)),
}


def test_original_families_give_the_objects_they_always_gave() -> None:
    assert set(ORIGINAL_SEED_3) == set(FAMILIES)
    for family, (mass, extents) in ORIGINAL_SEED_3.items():
        obj = generate_object(family, 3)
        assert obj.mass == pytest.approx(mass, rel=1e-9)
        np.testing.assert_allclose(np.sort(obj.extents), extents, rtol=1e-9)
        assert obj.uniform_density and obj.density == 700.0 and obj.friction is None
    # The default family draw of generate_random_object is unchanged too.
    assert [generate_random_object(s).family for s in range(5)] == [
        generate_random_object(s, FAMILIES).family for s in range(5)
    ]


def test_the_tool_head_pulls_the_centre_of_mass() -> None:
    for seed in range(6):
        tool = generate_object("tool", seed)
        head_density, handle_density = tool.part_densities
        assert head_density >= 2 * handle_density
        _, head_centre = _hull_volume_and_centroid(tool.convex_parts[0])
        _, handle_centre = _hull_volume_and_centroid(tool.convex_parts[1])
        # The origin (centre of mass) lies nearer the head than the handle ...
        assert np.linalg.norm(head_centre) < np.linalg.norm(handle_centre)
        # ... and nearer than with one density for both: the head moved it.
        uniform = generate_object("tool", seed, density=700.0)
        shift = tool.vertices.mean(axis=0) - uniform.vertices.mean(axis=0)
        head_direction = head_centre - handle_centre
        assert np.dot(shift, head_direction) < 0  # the mesh moved away: the centre moved in
        assert uniform.uniform_density and np.array_equal(uniform.faces, tool.faces)


def test_liquid_and_top_heavy_parts_move_the_centre_of_mass() -> None:
    for seed in range(4):
        bottle = generate_object("bottle", seed)
        uniform = generate_object("bottle", seed, density=700.0)
        assert max(bottle.part_densities) >= 900 and min(bottle.part_densities) <= 500
        # The liquid sits low: the centre of mass is below the shape's own centroid.
        assert bottle.vertices[:, 2].min() > uniform.vertices[:, 2].min()
    heavy_tops = 0
    for seed in range(12):
        column = generate_object("tall_slender", seed)
        lower, upper = column.part_densities
        if upper > lower:
            heavy_tops += 1
            uniform = generate_object("tall_slender", seed, density=700.0)
            axis = int(np.argmax(column.extents))
            assert column.vertices[:, axis].max() < uniform.vertices[:, axis].max()
    assert heavy_tops >= 3


def test_hold_out_whole_groups() -> None:
    kept, held = hold_out_families(groups=("tool", "tiny"), families=("bowl",))
    assert set(held) == {"tool", "tiny", "bowl"}
    assert set(kept) | set(held) == set(ALL_FAMILIES) and not set(kept) & set(held)
    kept, held = hold_out_families(groups=("revolution",), among=EXTENDED_FAMILIES)
    assert set(held) == {"bottle", "vase", "bowl", "cup"}
    drawn = {generate_random_object(seed, kept).family for seed in range(60)}
    assert drawn <= set(kept) and len(drawn) >= 4
    with pytest.raises(ValueError, match="unknown family group 'teapots'"):
        hold_out_families(groups=("teapots",))
    with pytest.raises(ValueError, match="keeps no family"):
        hold_out_families(groups=("tiny",), among=("tiny",))


def test_a_family_the_gripper_cannot_close_on_is_detected() -> None:
    for family in ALL_FAMILIES:
        check_family_fits_gripper(family, 0.0, STROKE)  # the 2F-85 closes on every family
    with pytest.raises(ValueError, match=r"'tiny'.*narrower than the gripper opening \[12\.0"):
        check_family_fits_gripper("tiny", 0.012, STROKE)
    check_family_fits_gripper("tiny", 0.012, 0.14)  # sized for a larger stroke: fits
    with pytest.raises(ValueError, match=r"'box'.*wider than the gripper opening"):
        check_family_fits_gripper("box", 0.0, 0.05, stroke=STROKE)
    check_family_fits_gripper("oversized", 0.0, STROKE)  # made not to fit: nothing to report
    with pytest.raises(ValueError, match="min_width"):
        check_family_fits_gripper("box", 0.05, 0.04)


def test_bad_family_seed_stroke_and_density_raise() -> None:
    with pytest.raises(ValueError, match="unknown object family 'teapot'"):
        generate_object("teapot", 0)
    with pytest.raises(ValueError, match="seed"):
        generate_object("tool", -3)
    with pytest.raises(ValueError, match="seed"):
        generate_object("tool", 2.5)  # type: ignore[arg-type]
    for stroke in (0.0, -0.085, float("nan"), 2 * MAX_STROKE):
        with pytest.raises(ValueError, match="stroke"):
            generate_object("bowl", 0, stroke=stroke)
    with pytest.raises(ValueError, match="stroke"):
        generate_object("bowl", 0, stroke="85 mm")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="density"):
        generate_object("tool", 0, density=-1.0)
    with pytest.raises(ValueError, match="stroke"):
        family_grasp_widths("tiny", 0.001)


def _body_inertia(model: mujoco.MjModel, body: int) -> np.ndarray:
    """(3, 3) inertia tensor of a compiled body about its centre of mass, body frame."""
    rotation = np.zeros(9)
    mujoco.mju_quat2Mat(rotation, model.body_iquat[body])
    rotation = rotation.reshape(3, 3)
    return rotation @ np.diag(model.body_inertia[body]) @ rotation.T


def _assert_body_matches(model: mujoco.MjModel, body: int, obj: ObjectModel) -> None:
    assert model.body_mass[body] == pytest.approx(obj.mass, rel=1e-9)
    np.testing.assert_allclose(model.body_ipos[body], 0.0, atol=1e-12)
    scale = np.abs(obj.inertia).max()
    np.testing.assert_allclose(_body_inertia(model, body), obj.inertia, atol=1e-9 * scale)


def test_the_scene_takes_each_objects_mass_distribution_and_friction() -> None:
    tool, bottle, box = (generate_object(f, 2) for f in ("tool", "bottle", "box"))
    scene = Scene.build([tool, bottle, box], seed=1)
    model = scene.model
    for index, obj in enumerate(scene.objects):
        body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, f"object_{index}")
        _assert_body_matches(model, body, obj)
        for part in range(len(obj.convex_parts)):
            geom = model.geom(f"{obj.name}_part{part}")
            expected = (
                scene.config.physics.sliding_friction if obj.friction is None else obj.friction
            )
            assert geom.friction[0] == pytest.approx(expected)
            assert geom.priority[0] == (0 if obj.friction is None else 1)


@pytest.mark.parametrize("family", EXTENDED_FAMILIES)
def test_extended_family_settles_on_the_table(family: str) -> None:
    for seed in range(2):
        scene = Scene.build([generate_object(family, seed)], seed=seed)
        result = scene.settle()
        assert result.ok, result.message
        lowest = scene.object_vertices_world(0)[:, 2].min()
        assert abs(lowest) < CONTACT_TOLERANCE


def _upright_after(obj: ObjectModel, tilt: float, seconds: float = 2.0) -> float:
    """z component of the object's z axis after standing on its base edge, tilted `tilt` rad
    about y, for `seconds` of simulated time."""
    scene = Scene.build([obj], seed=0)
    c, s = np.cos(tilt), np.sin(tilt)
    rotation = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    lowest = (obj.vertices @ rotation.T)[:, 2].min()
    scene.set_object_pose(0, np.array([0.0, 0.0, 2e-4 - lowest]), matrix_to_quaternion(rotation))
    for _ in range(round(seconds / scene.config.physics.timestep)):
        mujoco.mj_step(scene.model, scene.data)
    return float(scene.object_transform(0)[2, 2])


def test_a_top_heavy_column_tips_over_where_a_uniform_one_stands() -> None:
    heavy = generate_object("tall_slender", 17)  # a square column, its top 2.4 times denser
    uniform = generate_object("tall_slender", 17, density=700.0)
    assert len(heavy.vertices) == 8 and heavy.part_densities[1] > 2 * heavy.part_densities[0]

    def tipping_angle(obj: ObjectModel) -> float:  # centre of mass over the base edge
        return float(np.arctan((obj.extents[0] / 2) / -obj.vertices[:, 2].min()))

    low, high = tipping_angle(heavy), tipping_angle(uniform)
    assert high - low > np.radians(0.8)
    tilt = (low + high) / 2
    assert _upright_after(heavy, tilt) < 0.5  # toppled
    assert _upright_after(uniform, tilt) > 0.99  # fell back upright


def test_the_lift_takes_the_objects_own_mass_and_inertia() -> None:
    tool = generate_object("tool", 3)
    pose = np.eye(4)
    pose[2, 3] = 0.1
    model = build_lift_model(
        list(tool.convex_parts), pose, np.zeros(3), np.array([1.0, 0.0, 0.0]),
        object_inertial=tool.inertial,
    )  # fmt: skip
    _assert_body_matches(model, model.body("object").id, tool)
    # Without them the parts get the configured uniform density, as before.
    plain = build_lift_model(list(tool.convex_parts), pose, np.zeros(3), np.array([1.0, 0.0, 0.0]))
    assert plain.body("object").mass[0] == pytest.approx(400.0 * tool.volume, rel=1e-6)
    with pytest.raises(ValueError, match="object_inertial: mass"):
        build_lift_model(
            list(tool.convex_parts), pose, np.zeros(3), np.array([1.0, 0.0, 0.0]),
            object_inertial=(0.0, np.zeros(3), tool.inertia),
        )  # fmt: skip
    with pytest.raises(ValueError, match="object_inertial: inertia"):
        build_lift_model(
            list(tool.convex_parts), pose, np.zeros(3), np.array([1.0, 0.0, 0.0]),
            object_inertial=(tool.mass, np.zeros(3), -tool.inertia),
        )  # fmt: skip


def test_a_lift_holds_the_object_its_mass_allows() -> None:
    box = object_from_solid("box", "box", 0, box_solid(0.04, 0.06, 0.05), density=700.0)
    pose = np.eye(4)
    pose[2, 3] = 0.025
    centre = np.array([0.0, 0.0, 0.025])
    light = simulate_lift(
        list(box.convex_parts), pose, centre, np.array([1.0, 0.0, 0.0]), 0.06,
        object_inertial=box.inertial,
    )  # fmt: skip
    assert light.success
    mass, _, inertia = box.inertial
    anvil = (50.0, np.zeros(3), inertia * 50.0 / mass)  # far beyond the grip and the arm
    heavy = simulate_lift(
        list(box.convex_parts), pose, centre, np.array([1.0, 0.0, 0.0]), 0.06,
        object_inertial=anvil,
    )  # fmt: skip
    assert not heavy.success and heavy.object_rise < 0.05
