import json

from index import handler


def test_default_name():
    response = handler({}, None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"message": "hello, world"}


def test_custom_name():
    response = handler({"name": "plugctl"}, None)
    assert json.loads(response["body"])["message"] == "hello, plugctl"


def test_body_is_json_string():
    response = handler({"name": "ünïcode"}, object())
    assert isinstance(response["body"], str)
    assert json.loads(response["body"])["message"] == "hello, ünïcode"
