"""Authentication and authorization with real clients: a server started with `--auth required`
(as `MANTLE_AUTH=required`) and an admin key, keys made with `mantle keys create`, then boto3's
bedrock, bedrock-runtime and bedrock-agent clients signing with SigV4, boto3's bearer-token
auth (`AWS_BEARER_TOKEN_BEDROCK`), and the openai client with an API key."""

import datetime
import json
import os
import subprocess
import urllib.request

import boto3
import botocore.auth
import pytest
from botocore.exceptions import ClientError

from conftest import CLIENT_CONFIG, REGION, Server

ADMIN_KEY = "python-tests-admin-key-0123456789"
SMOLLM2 = "hf.smollm2-135m-instruct-v1:0"
MINILM = "hf.all-minilm-l6-v2-v1:0"
MODEL_ARN = f"arn:aws:bedrock:{REGION}::foundation-model/{SMOLLM2}"
MESSAGES = [{"role": "user", "content": [{"text": "Say hi."}]}]


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    server = Server(
        tmp_path_factory.mktemp("auth"),
        install_dist=False,
        env={"MANTLE_AUTH": "required", "MANTLE_ADMIN_KEY": ADMIN_KEY},
    )
    yield server
    server.stop()


def keys(server, *args):
    """`mantle keys …` against the server, its one JSON answer."""
    done = subprocess.run(
        [os.environ["MANTLE_BIN"], "keys", *args, "--server", server.url],
        env=dict(os.environ, MANTLE_ADMIN_KEY=ADMIN_KEY),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def client(service, server, key, secret=None):
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id=key["accessKeyId"],
        aws_secret_access_key=secret or key["secretAccessKey"],
        config=CLIENT_CONFIG,
    )


def code(error):
    return error.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def full_key(secured):
    return keys(secured, "create", "--name", "app")


def test_correct_keys_work_everywhere_streams_included(secured, full_key):
    assert set(full_key) >= {"accessKeyId", "secretAccessKey", "apiKey"}
    runtime = client("bedrock-runtime", secured, full_key)
    answer = runtime.converse(modelId=SMOLLM2, messages=MESSAGES, inferenceConfig={"maxTokens": 4})
    assert answer["usage"]["outputTokens"] >= 1
    # A model ARN in the path: botocore signs it double-encoded.
    by_arn = runtime.converse(modelId=MODEL_ARN, messages=MESSAGES, inferenceConfig={"maxTokens": 2})
    assert by_arn["stopReason"] in ("max_tokens", "end_turn")
    stream = runtime.converse_stream(modelId=SMOLLM2, messages=MESSAGES, inferenceConfig={"maxTokens": 3})
    events = [next(iter(event)) for event in stream["stream"]]
    assert events[0] == "messageStart" and "metadata" in events

    bedrock = client("bedrock", secured, full_key)
    assert bedrock.list_foundation_models(byOutputModality="TEXT")["modelSummaries"]
    assert "guardrails" in bedrock.list_guardrails(maxResults=5)
    agent = client("bedrock-agent", secured, full_key)
    assert agent.list_prompts(maxResults=3)["promptSummaries"] == []


def test_wrong_secret_expired_date_tampered_body_and_unknown_key(secured, full_key, monkeypatch):
    with pytest.raises(ClientError) as wrong:
        client("bedrock", secured, full_key, secret="x" * 40).list_guardrails()
    assert code(wrong) == "InvalidSignatureException"
    assert wrong.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    with pytest.raises(ClientError) as unknown:
        client("bedrock", secured, {**full_key, "accessKeyId": "AKIAUNKNOWNUNKNOWN00"}).list_guardrails()
    assert code(unknown) == "UnrecognizedClientException"

    runtime = client("bedrock-runtime", secured, full_key)

    def tamper(request, **_):
        request.body = request.body.replace(b"Say hi.", b"Say no.")

    runtime.meta.events.register("before-send.bedrock-runtime.Converse", tamper)
    with pytest.raises(ClientError) as tampered:
        runtime.converse(modelId=SMOLLM2, messages=MESSAGES, inferenceConfig={"maxTokens": 2})
    assert code(tampered) == "InvalidSignatureException"

    # A clock 20 minutes slow signs outside the 15-minute window.
    slow = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: slow.replace(tzinfo=None))
    with pytest.raises(ClientError) as expired:
        client("bedrock", secured, full_key).list_guardrails()
    assert code(expired) == "InvalidSignatureException"
    assert "Signature expired" in expired.value.response["Error"]["Message"]


def test_policies_deny_by_action_and_resource(secured, tmp_path):
    policy = tmp_path / "reader.json"
    policy.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["bedrock:List*", "bedrock:Get*"], "Resource": "*"},
                    {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": MODEL_ARN},
                ],
            }
        )
    )
    reader = keys(secured, "create", "--name", "reader", "--policy", str(policy))
    runtime = client("bedrock-runtime", secured, reader)
    runtime.converse(modelId=SMOLLM2, messages=MESSAGES, inferenceConfig={"maxTokens": 2})
    with pytest.raises(ClientError) as streaming:
        runtime.converse_stream(modelId=SMOLLM2, messages=MESSAGES)
    assert code(streaming) == "AccessDeniedException"
    assert "bedrock:InvokeModelWithResponseStream" in streaming.value.response["Error"]["Message"]
    bedrock = client("bedrock", secured, reader)
    bedrock.list_guardrails()
    with pytest.raises(ClientError) as create:
        bedrock.create_guardrail(
            name="nope",
            blockedInputMessaging="no",
            blockedOutputsMessaging="no",
            wordPolicyConfig={"wordsConfig": [{"text": "x"}]},
        )
    assert code(create) == "AccessDeniedException"
    assert "user/reader is not authorized to perform: bedrock:CreateGuardrail" in create.value.response["Error"]["Message"]

    # Disabled, then deleted: refused as unknown.
    keys(secured, "disable", "--name", "reader")
    with pytest.raises(ClientError) as disabled:
        bedrock.list_guardrails()
    assert code(disabled) == "UnrecognizedClientException"
    keys(secured, "delete", "--name", "reader")
    names = [k["name"] for k in keys(secured, "list")["keys"]]
    assert "reader" not in names


def test_api_keys_as_bearer_tokens_for_boto3_and_openai(secured, full_key):
    # botocore sends bearer tokens over HTTPS only (Mantle serves plain HTTP; TLS is the
    # terminator's in front of it), so its BearerAuth signs an https request here and the
    # header it wrote goes to the loopback server as is.
    from botocore.awsrequest import AWSRequest
    from botocore.tokens import FrozenAuthToken

    body = json.dumps({"messages": MESSAGES, "inferenceConfig": {"maxTokens": 2}}).encode()
    path = f"/model/{SMOLLM2}/converse"
    signed = AWSRequest(method="POST", url="https://bedrock.example" + path, data=body,
                        headers={"content-type": "application/json"})
    botocore.auth.BearerAuth(FrozenAuthToken(full_key["apiKey"])).add_auth(signed)
    request = urllib.request.Request(secured.url + path, data=body, method="POST", headers=dict(signed.headers))
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read())["usage"]["outputTokens"] >= 1

    from openai import AuthenticationError, OpenAI

    openai = OpenAI(base_url=f"{secured.url}/v1", api_key=full_key["apiKey"], max_retries=0)
    assert len(openai.embeddings.create(model=MINILM, input="hello").data[0].embedding) == 384
    with pytest.raises(AuthenticationError):
        OpenAI(base_url=f"{secured.url}/v1", api_key="ABSKwrong", max_retries=0).models.list()


def test_the_admin_api_needs_the_admin_key(secured, full_key):
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        secured.admin("GET", "/admin/plugins")
    assert anonymous.value.code == 403
    request = urllib.request.Request(
        secured.url + "/admin/keys", headers={"authorization": f"Bearer {full_key['apiKey']}"}
    )
    with pytest.raises(urllib.error.HTTPError) as not_admin:
        urllib.request.urlopen(request)
    assert not_admin.value.code == 403
    assert json.loads(not_admin.value.read())["__type"] == "AccessDeniedException"
    with urllib.request.urlopen(urllib.request.Request(secured.url + "/health")) as health:
        assert health.status == 200
