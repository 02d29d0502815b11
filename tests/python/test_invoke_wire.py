"""InvokeModel's header options, as botocore sends them: a guardrail by id and version (with its
trace), the performance latency and the service tier (echoed back), and Converse's echo of
`performanceConfig` / `serviceTier`."""

import json
import uuid

import pytest
from botocore.exceptions import ClientError

TEXT = "hf.smollm2-135m-instruct-v1:0"


def body(prompt, **extra):
    return json.dumps({"prompt": prompt, "max_gen_len": 24, "temperature": 0, **extra})


@pytest.fixture(scope="module")
def aurora(bedrock):
    return bedrock.create_guardrail(
        name=f"invoke-{uuid.uuid4().hex[:8]}",
        wordPolicyConfig={"wordsConfig": [{"text": "project aurora"}]},
        blockedInputMessaging="Input blocked.",
        blockedOutputsMessaging="Output blocked.",
    )["guardrailId"]


def test_invoke_model_applies_the_guardrail_in_its_headers(runtime, aurora):
    blocked = runtime.invoke_model(
        modelId=TEXT, body=body("Tell me about project aurora."), guardrailIdentifier=aurora,
        guardrailVersion="DRAFT", trace="ENABLED",
    )
    payload = json.loads(blocked["body"].read())
    assert payload["generation"] == "Input blocked."
    assert payload["generation_token_count"] == 0
    assert payload["amazon-bedrock-guardrailAction"] == "INTERVENED"
    word = payload["amazon-bedrock-trace"]["guardrail"]["input"][aurora]["wordPolicy"]
    assert word["customWords"][0]["match"].lower() == "project aurora"

    clean = runtime.invoke_model(
        modelId=TEXT, body=body("The capital of France is"), guardrailIdentifier=aurora, guardrailVersion="DRAFT",
    )
    payload = json.loads(clean["body"].read())
    assert payload["amazon-bedrock-guardrailAction"] == "NONE"
    assert payload["generation_token_count"] > 0
    assert "amazon-bedrock-trace" not in payload


def test_invoke_model_refuses_an_unknown_guardrail(runtime):
    with pytest.raises(ClientError) as info:
        runtime.invoke_model(modelId=TEXT, body=body("Hi"), guardrailIdentifier="nosuchguardrail", guardrailVersion="DRAFT")
    assert info.value.response["Error"]["Code"] in ("ResourceNotFoundException", "ValidationException")
    with pytest.raises(ClientError) as info:
        runtime.invoke_model(modelId=TEXT, body=body("Hi"), trace="SOMETIMES")
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert "X-Amzn-Bedrock-Trace" in info.value.response["Error"]["Message"]


def test_streamed_invoke_model_applies_the_guardrail(runtime, aurora):
    response = runtime.invoke_model_with_response_stream(
        modelId=TEXT, body=body("Tell me about project aurora."), guardrailIdentifier=aurora, guardrailVersion="DRAFT",
    )
    chunks = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    assert "".join(c["generation"] for c in chunks) == "Input blocked."
    assert chunks[-1]["amazon-bedrock-guardrailAction"] == "INTERVENED"
    assert chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 0


def test_latency_and_tier_are_echoed(runtime):
    r = runtime.invoke_model(modelId=TEXT, body=body("Hi"), performanceConfigLatency="standard", serviceTier="default")
    assert r["performanceConfigLatency"] == "standard"
    assert r["serviceTier"] == "default"
    r.get("body").read()
    s = runtime.invoke_model_with_response_stream(modelId=TEXT, body=body("Hi"), performanceConfigLatency="optimized")
    assert s["performanceConfigLatency"] == "optimized"
    list(s["body"])
    c = runtime.converse(
        modelId=TEXT, messages=[{"role": "user", "content": [{"text": "Hi"}]}], inferenceConfig={"maxTokens": 8},
        performanceConfig={"latency": "standard"}, serviceTier={"type": "flex"},
    )
    assert c["performanceConfig"] == {"latency": "standard"}
    assert c["serviceTier"] == {"type": "flex"}
    stream = runtime.converse_stream(
        modelId=TEXT, messages=[{"role": "user", "content": [{"text": "Hi"}]}], inferenceConfig={"maxTokens": 8},
        performanceConfig={"latency": "optimized"},
    )
    metadata = [e["metadata"] for e in stream["stream"] if "metadata" in e][0]
    assert metadata["performanceConfig"] == {"latency": "optimized"}
