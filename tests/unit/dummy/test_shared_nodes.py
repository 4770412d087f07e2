from ehrql.dummy.shared_nodes import share_equal_subtrees
from ehrql.query_model import nodes as qm
from tests.unit.dummy.tables import death_records, people


def test_equal_subtrees_become_one_object_and_the_tree_stays_equal():
    causes = ["I21", "I63"]
    tree = (
        death_records.cause.is_in(causes)
        | people.region.is_in(["R01"])
        | death_records.cause.is_in(causes)
    )._qm_node
    shared = share_equal_subtrees(tree)
    assert shared == tree
    values = [n for n in qm.all_nodes(tree) if isinstance(n, qm.Value)]
    # all_nodes reports each distinct node once; equal copies still count once,
    # so compare objects directly.
    left = shared.lhs.lhs.rhs
    right = shared.rhs.rhs
    assert left == right and left is right
    assert tree.lhs.lhs.rhs is not tree.rhs.rhs
    assert values


def test_trees_without_repeats_are_returned_as_they_are():
    tree = (people.score > 5)._qm_node
    assert share_equal_subtrees(tree) is tree
