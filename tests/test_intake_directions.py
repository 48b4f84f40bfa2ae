"""Industry directions of a policy text mapped to the chain templates' nodes."""

from __future__ import annotations

from chainatlas.chains.templates import load_templates
from chainatlas.intake.directions import _aliases, build_terms, find_directions


def _map(text: str) -> list[tuple[str, str | None, str | None]]:
    return [(d.text, d.chain_id, d.node_id) for d in find_directions(text)]


def test_the_lead_industries_of_a_city_plan() -> None:
    found = _map("重点发展疫苗、抗体药物、细胞与基因治疗、精准诊断和现代中药，"
                 "培育壮大生物医药产业集群。")
    assert found == [("疫苗", "biomedicine", "bm_vaccines"),
                     ("抗体药物", "biomedicine", "bm_antibodies"),
                     ("细胞与基因治疗", "biomedicine", "bm_gene_therapy"),
                     ("精准诊断", "biomedicine", "bm_precision_testing"),
                     ("现代中药", "biomedicine", "bm_tcm"),
                     ("生物医药", "biomedicine", None)]


def test_software_and_electronics_directions() -> None:
    found = dict((t, n) for t, _, n in _map(
        "大力发展集成电路、现代通信、汽车电子、软件研发、空天信息、机器人与智能装备。"))
    assert found == {"集成电路": "el_ic", "现代通信": "el_communications",
                     "汽车电子": "el_auto_electronics", "软件研发": "el_software",
                     "空天信息": "el_aerospace_info", "机器人与智能装备": "el_robotics"}


def test_unmapped_directions_are_kept_with_their_span() -> None:
    text = "聚焦低空经济和合成生物，推动人工智能发展。"
    found = find_directions(text)
    unmapped = [d for d in found if d.how == "unmapped"]
    assert [d.text for d in unmapped] == ["低空经济", "合成生物"]
    assert all(text[d.start:d.end] == d.text for d in found)
    assert ("人工智能", "electronics", "el_cloud_ai") in _map(text)


def test_every_alias_names_a_node_of_its_chain() -> None:
    templates = load_templates()
    terms = build_terms(templates, _aliases())
    for target in terms.values():
        if target.node_id is not None:
            templates[target.chain_id].node(target.node_id)  # raises when it is not there
    assert terms["疫苗"].node_id == "bm_vaccines"
    assert terms["生物医药"].node_id is None
