"""The public API's parameters, declared once: each whitelisted method names the ones it takes.

Nearly every argument a gateway, a dialer or the desk sends is text that may be missing, so a method's
signature is ``(name: str | None = None, ...)`` in the order the method has always taken them. Written out
by hand it repeated the same type on every line of every method; :func:`takes` states it once. The methods
built with it are ordinary functions to every caller and to Frappe:

- ``inspect.signature`` gives the declared signature, so ``frappe.call`` passes exactly these arguments (an
  unknown one is dropped, as before) and the API docs read the same names;
- ``__annotations__`` holds the types, so ``frappe.whitelist`` checks every argument of a request as before;
- a Python caller may pass them by position or by name; an unknown or a repeated one is a ``TypeError``.
  (Frappe type-checks the arguments it is given by name, which is every HTTP call; a Python caller's
  positional arguments are bound as before, and each method's own checks refuse a bad value.)

Plain Python (no Frappe): :mod:`tests.unit.test_signatures` pins each promise.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

TEXT = str | None


def signature_of(parameters: str, types: dict[str, object], returns: object) -> inspect.Signature:
	"""The signature ``(name: TEXT = None, ...)`` of the space-separated ``parameters``, with ``types`` for
	the few that are not text."""
	unknown = set(types) - set(parameters.split())
	if unknown:
		raise ValueError(f"types for parameters not taken: {sorted(unknown)}")
	return inspect.Signature(
		[
			inspect.Parameter(
				name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=types.get(name, TEXT)
			)
			for name in parameters.split()
		],
		return_annotation=returns,
	)


def takes(parameters: str, /, *, returns: object = dict, **types: object) -> Callable[[Callable], Callable]:
	"""Decorate ``fn(**arguments)``: the method takes ``parameters`` (space-separated, in this order), each
	``str | None = None`` unless ``types`` says otherwise, and calls ``fn`` with every one of them by name.

	Put it below ``@frappe.whitelist``, which then sees the declared signature and types."""

	signature = signature_of(parameters, types, returns)

	def decorate(fn: Callable) -> Callable:
		@functools.wraps(fn)
		def method(*args, **kwargs):
			bound = signature.bind(*args, **kwargs)
			bound.apply_defaults()
			return fn(**bound.arguments)

		method.__signature__ = signature
		method.__annotations__ = {
			**{name: parameter.annotation for name, parameter in signature.parameters.items()},
			"return": returns,
		}
		del method.__wrapped__  # the signature is the declared one, not fn's ``**arguments``
		return method

	return decorate
