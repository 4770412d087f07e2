"""Every query model the generative strategies build survives JSON exactly."""

from hypothesis import given

from ehrql.serializer import deserialize, serialize
from tests.generative.budget import generative_settings
from tests.generative.queries import datasets


@generative_settings(100)
@given(dataset=datasets())
def test_serialize_then_deserialize_gives_an_equal_model(dataset):
    assert deserialize(serialize(dataset)) == dataset
