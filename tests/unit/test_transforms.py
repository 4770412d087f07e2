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
    from ehrql import case, maximum_of, when

    tree = (people.score > 5)._qm_node
    assert share_equal_subtrees(tree) is tree
    # Also nodes holding their operands in a tuple or a mapping.
    tree = case(
        when(maximum_of(people.score, people.nhs_ref) > 5).then("high"),
        otherwise="low",
    )._qm_node
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


def _interval_tree():
    """A tree reading INTERVAL in a filter's condition (so frames are rebuilt),
    in a sort, a pick, an aggregation and a `case`."""
    from ehrql import INTERVAL, case, when
    from tests.unit.dummy.tables import events

    recent = events.where(events.day.is_during(INTERVAL)).sort_by(events.day)
    last = recent.last_for_patient()
    bands = case(
        when(last.day < INTERVAL.start_date).then("before"),
        when(people.birth_month > INTERVAL.end_date).then("after"),
        otherwise="during",
    )
    return (
        (recent.count_for_patient() > 1)
        & (last.reading > 2.0)
        & bands.is_in(["before", "during"])
        & events.where(events.day > INTERVAL.start_date).exists_for_patient()
    )._qm_node


def _validated_substitution(tree, **values):
    from ehrql.query_model import nodes as qm
    from ehrql.query_model.transforms import rewrite_tree

    return rewrite_tree(
        tree,
        lambda n: (
            qm.Value(values[n.name])
            if isinstance(n, qm.Parameter) and n.name in values
            else None
        ),
    )


def test_a_template_fills_in_the_same_tree_as_a_validated_rewrite_each_time():
    import dataclasses
    import datetime

    from ehrql.query_model import nodes as qm
    from ehrql.query_model.transforms import ParameterTemplate

    tree = _interval_tree()
    template = ParameterTemplate(tree, {"interval_start_date", "interval_end_date"})
    for start in (datetime.date(2020, 1, 1), datetime.date(2021, 6, 1)):
        values = {
            "interval_start_date": start,
            "interval_end_date": start + datetime.timedelta(days=30),
        }
        filled = template.fill(**values)
        expected = _validated_substitution(tree, **values)
        assert filled == expected
        assert hash(filled) == hash(expected)
        # Each node is what building it (and so checking it) gives, with
        # the same type and domain.
        for node in qm.all_nodes(filled):
            built = dataclasses.replace(node)
            assert built == node
            if isinstance(node, qm.Series):
                assert node.type == built.type
                assert node.domain == built.domain
    # The tree it was made from is untouched.
    assert qm.all_nodes(tree)[0] in qm.all_nodes(tree)
    assert {n.name for n in qm.all_nodes(tree) if isinstance(n, qm.Parameter)} == {
        "interval_start_date",
        "interval_end_date",
    }


def test_a_template_checks_a_value_of_another_type_than_its_parameter():
    import pytest

    from ehrql.query_model import nodes as qm
    from ehrql.query_model.transforms import ParameterTemplate

    template = ParameterTemplate(_interval_tree(), {"interval_start_date"})
    with pytest.raises(qm.TypeValidationError):
        template.fill(interval_start_date="2020-01-01")


def test_a_template_checks_a_dataset_it_rebuilds():
    # A population's check evaluates constants: a population that reads
    # only INTERVAL is true for every patient once it is filled in.
    import datetime

    import pytest

    from ehrql.query_model import nodes as qm
    from ehrql.query_model.transforms import ParameterTemplate

    start = qm.Parameter("start", datetime.date)
    dataset = qm.Dataset(
        population=qm.Function.LT(start, qm.Value(datetime.date(2021, 1, 1))),
        variables=qm.FrozenDict({}),
    )
    with pytest.raises(qm.PopulationValidationError):
        ParameterTemplate(dataset, {"start"}).fill(start=datetime.date(2020, 1, 1))


def test_shared_subtrees_keep_the_hash_type_and_domain_of_the_tree():
    tree = _interval_tree()
    shared = share_equal_subtrees(tree)
    assert shared == tree
    assert hash(shared) == hash(tree)
    assert shared.type == tree.type
    assert shared.domain == tree.domain
