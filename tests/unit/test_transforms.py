from ehrql.dummy.shared_nodes import share_equal_subtrees
from tests.unit.dummy.tables import death_records, people


def test_equal_subtrees_become_one_object_and_the_tree_stays_equal():
    causes = ["I21", "I63"]
    tree = (
        death_records.cause.is_in(causes)
        | people.region.is_in(["R01"])
        | death_records.cause.is_in(causes)
    )._qm_node
    # The DSL made two equal codelist constants, as separate objects.
    assert tree.lhs.lhs.rhs == tree.rhs.rhs
    assert tree.lhs.lhs.rhs is not tree.rhs.rhs
    shared = share_equal_subtrees(tree)
    assert shared == tree
    assert shared.lhs.lhs.rhs is shared.rhs.rhs
    assert shared.lhs.lhs is shared.rhs


def test_trees_without_repeats_are_returned_as_they_are():
    tree = (people.score > 5)._qm_node
    assert share_equal_subtrees(tree) is tree
