"""The public API's parameters, declared once (opt_consent.model.signatures): a method built with ``takes`` is,
to every caller and to Frappe, the function its hand-written signature was."""

import inspect

import pytest

from opt_consent.model.signatures import TEXT, takes


@takes("doctype names channel", names=str | list | None)
def sample(**arguments) -> dict:
	"""A sample method."""
	return arguments


@takes("channel address reference")
def split(reference, **rest) -> dict:
	return {"reference": reference, "rest": rest}


def handwritten(
	doctype: str | None = None, names: str | list | None = None, channel: str | None = None
) -> dict:
	return {}


def test_the_signature_is_the_hand_written_one():
	assert inspect.signature(sample) == inspect.signature(handwritten)
	assert str(inspect.signature(sample)) == str(inspect.signature(handwritten))
	assert inspect.getfullargspec(sample).args == ["doctype", "names", "channel"]
	assert inspect.getfullargspec(sample).varkw is None


def test_the_annotations_are_the_hand_written_ones():
	assert sample.__annotations__ == {
		"doctype": TEXT,
		"names": str | list | None,
		"channel": TEXT,
		"return": dict,
	}


def test_every_parameter_reaches_the_body_by_name_missing_ones_as_none():
	assert sample("Phone", channel="Text") == {"doctype": "Phone", "names": None, "channel": "Text"}
	assert sample() == {"doctype": None, "names": None, "channel": None}
	assert split("Call", "+15551234567", "R-1") == {
		"reference": "R-1",
		"rest": {"channel": "Call", "address": "+15551234567"},
	}


def test_an_unknown_or_repeated_argument_is_a_type_error_as_before():
	with pytest.raises(TypeError):
		sample(purpose="x")
	with pytest.raises(TypeError):
		sample("Phone", doctype="Email")
	with pytest.raises(TypeError):
		sample("a", "b", "c", "d")


def test_the_name_and_docstring_are_the_bodys():
	assert sample.__name__ == "sample"
	assert sample.__doc__ == "A sample method."
	assert not hasattr(sample, "__wrapped__")


def test_a_type_for_a_parameter_not_taken_is_refused_at_import():
	with pytest.raises(ValueError):
		takes("channel", names=list)


def test_a_parameter_may_be_called_parameters_or_returns():
	@takes("parameters returns", returns=list)
	def odd(**arguments) -> list:
		return [arguments]

	assert odd(1, returns=2) == [{"parameters": 1, "returns": 2}]
	assert inspect.signature(odd).return_annotation is list
