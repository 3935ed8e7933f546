import pytest

from gqstn_ros.networks.configs import (
    build_model,
    config_from_dict,
    config_names,
    detector_kinds,
    model_config,
    network_kinds,
)
from gqstn_ros.networks.gqcnn import GQCNN
from gqstn_ros.planner_registry import NETWORK_PLANNERS
from gqstn_ros.planners.gqstn.model import GQSTN


def test_every_named_config_round_trips():
    for kind in network_kinds():
        assert {"paper", "cpu"} <= set(config_names(kind))
        for name in config_names(kind):
            config = model_config(kind, name)
            assert config_from_dict(kind, config.to_dict()) == config
    assert config_names() == ("paper", "cpu", "fast")


def test_every_network_planner_declares_a_trainable_network_kind():
    assert network_kinds() == ("gqcnn", *NETWORK_PLANNERS)
    assert detector_kinds() == NETWORK_PLANNERS == ("gqstn", "multigrasp", "directgrasp")


def test_fast_is_a_gqcnn_configuration_only():
    assert config_names("gqcnn") == ("paper", "cpu", "fast")
    assert model_config("gqcnn", "fast").first_stride == 2
    with pytest.raises(ValueError, match=r"unknown configuration 'fast' for gqstn; .*'cpu'"):
        model_config("gqstn", "fast")


def test_paper_configs_are_the_papers():
    gqstn = model_config("gqstn", "paper")
    assert gqstn.trans_net.depths == (3, 4, 6, 3) and gqstn.trans_net.width == 64
    assert gqstn.angle_activation == "signed"
    gqcnn = model_config("gqcnn", "paper")
    assert (gqcnn.conv_width, gqcnn.fc_width, gqcnn.pose_width) == (64, 1024, 16)


def test_unknown_names_and_wrong_types_are_refused():
    with pytest.raises(ValueError, match="kind"):
        model_config("alexnet", "paper")
    with pytest.raises(ValueError, match="configuration"):
        model_config("gqstn", "huge")
    with pytest.raises(TypeError, match="GQSTNConfig"):
        build_model("gqstn", model_config("gqcnn", "cpu"))
    with pytest.raises(ValueError, match="GQ-CNN"):
        build_model("gqstn", model_config("gqstn", "cpu"))


def test_build_cpu_models():
    gqcnn = build_model("gqcnn", model_config("gqcnn", "cpu"))
    assert isinstance(gqcnn, GQCNN)
    assert isinstance(build_model("gqstn", model_config("gqstn", "cpu"), gqcnn=gqcnn), GQSTN)
