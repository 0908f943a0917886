"""An HTTP client of the loopback web server, as API clients (token auth of the test users) use it."""

import json

import requests

from tests.integration.factories import API_KEYS, COMMITTED

METHOD = "/api/method/opt_consent.api."


class Client:
	def __init__(self, url: str, key: str | None):
		self.url = url
		self.session = requests.Session()
		if key:
			self.session.headers["Authorization"] = API_KEYS[key]

	def post(self, path: str, /, **data):
		return self.session.post(self.url + path, json=data, timeout=30)

	def put(self, path: str, /, **data):
		return self.session.put(self.url + path, json=data, timeout=30)

	def get(self, path: str, /, **params):
		return self.session.get(self.url + path, params=params, timeout=30)

	def delete(self, path: str):
		return self.session.delete(self.url + path, timeout=30)

	def create(self, doctype: str, **fields) -> dict:
		response = self.post(f"/api/resource/{doctype}", **fields)
		assert response.status_code == 200, response.text
		doc = response.json()["data"]
		COMMITTED.append((doctype, doc["name"]))
		return doc

	def action(self, method: str, /, **data):
		return self.post(METHOD + method, **data)


def message_of(response) -> str:
	"""The readable message(s) of a Frappe error response, and the exception line when there is one."""
	try:
		body = response.json()
	except ValueError:
		return response.text
	messages = [json.loads(m).get("message", m) for m in json.loads(body.get("_server_messages") or "[]")]
	return " ".join([*(str(m) for m in messages), str(body.get("exception") or "")]).strip() or str(body)
