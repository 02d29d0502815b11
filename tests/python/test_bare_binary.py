"""A bare `mantle serve --data-dir ./fresh`, as a new user starts it: nothing installed, and the
built-in plugins inside the binary run the guardrail policies."""

import json
import urllib.request

import boto3
import pytest

from conftest import CLIENT_CONFIG, REGION, Server


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    # No models either: the guardrail APIs do not need them, and the server starts faster.
    empty_models = tmp_path_factory.mktemp("no-models")
    server = Server(tmp_path_factory.mktemp("fresh"), install_dist=False, env={"MANTLE_MODEL_DIR": str(empty_models)})
    yield server
    server.stop()


def client(service, server):
    return boto3.client(service, endpoint_url=server.url, region_name=REGION, aws_access_key_id="x",
                        aws_secret_access_key="x", config=CLIENT_CONFIG)


def test_a_fresh_data_dir_guards_with_the_built_in_plugins(fresh):
    assert list((fresh.data_dir / "plugins").iterdir()) == []
    with urllib.request.urlopen(fresh.url + "/admin/plugins") as response:
        listed = json.load(response)["plugins"]
    sources = {p["name"]: p["source"] for p in listed}
    assert sources["word-filter"] == "builtin" and sources["sensitive-information"] == "builtin"

    bedrock, runtime = client("bedrock", fresh), client("bedrock-runtime", fresh)
    g = bedrock.create_guardrail(
        name="fresh",
        wordPolicyConfig={"wordsConfig": [{"text": "project aurora"}]},
        sensitiveInformationPolicyConfig={"piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE"}]},
        blockedInputMessaging="Sorry.",
        blockedOutputsMessaging="Sorry.",
    )
    r = runtime.apply_guardrail(guardrailIdentifier=g["guardrailId"], guardrailVersion="DRAFT", source="INPUT",
                                content=[{"text": {"text": "mail bob@example.com"}}])
    assert r["action"] == "GUARDRAIL_INTERVENED"
    assert r["outputs"] == [{"text": "mail {EMAIL}"}]
    r = runtime.apply_guardrail(guardrailIdentifier=g["guardrailId"], guardrailVersion="DRAFT", source="INPUT",
                                content=[{"text": {"text": "what is Project Aurora?"}}])
    assert r["outputs"] == [{"text": "Sorry."}]
    assert r["assessments"][0]["wordPolicy"]["customWords"][0]["match"].lower() == "project aurora"
