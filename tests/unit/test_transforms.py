from ehrql.query_model.transforms import share_equal_subtrees
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


def test_substitute_parameters_fills_in_only_the_named_parameters():
    import datetime

    from ehrql.query_model import nodes as qm
    from ehrql.query_model.transforms import parameters_of, substitute_parameters

    start = qm.Parameter("start", datetime.date)
    end = qm.Parameter("end", datetime.date)
    node = qm.Function.LT(start, end)
    filled = substitute_parameters(node, start=datetime.date(2020, 1, 1))
    assert filled == qm.Function.LT(qm.Value(datetime.date(2020, 1, 1)), end)
    assert parameters_of(filled) == {"end"}
    assert substitute_parameters(node) == node
