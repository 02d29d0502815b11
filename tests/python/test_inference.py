"""The inference APIs with the real default models: boto3's bedrock-runtime and the openai client."""

import json
import threading
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

TEXT = "hf.smollm2-135m-instruct-v1:0"
EMBED = "hf.all-minilm-l6-v2-v1:0"
GREEDY = {"maxTokens": 24, "temperature": 0}


def user(text):
    return [{"role": "user", "content": [{"text": text}]}]


def stream_text(response):
    events = list(response["stream"])
    kinds = [next(iter(e)) for e in events]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    return kinds, text, events


def test_converse_answers_with_usage_metrics_and_stop_reason(runtime):
    r = runtime.converse(
        modelId=TEXT,
        system=[{"text": "You are a geography assistant. Answer in one sentence."}],
        messages=user("What is the capital of France?"),
        inferenceConfig=GREEDY,
    )
    text = r["output"]["message"]["content"][0]["text"]
    assert "Paris" in text
    assert r["output"]["message"]["role"] == "assistant"
    assert r["stopReason"] in ("end_turn", "max_tokens")
    assert r["usage"]["totalTokens"] == r["usage"]["inputTokens"] + r["usage"]["outputTokens"]
    assert r["metrics"]["latencyMs"] >= 0


def test_multi_turn_and_stop_sequences(runtime):
    messages = user("Count from 1 to 10, one number per line.")
    messages += [{"role": "assistant", "content": [{"text": "1\n2\n3"}]}]
    messages += user("Continue, please.")
    r = runtime.converse(modelId=TEXT, messages=messages, inferenceConfig=GREEDY)
    assert r["output"]["message"]["content"][0]["text"]
    full = runtime.converse(modelId=TEXT, messages=user("Count from 1 to 5."), inferenceConfig={"maxTokens": 40, "temperature": 0})
    text = full["output"]["message"]["content"][0]["text"]
    assert "3" in text
    stopped = runtime.converse(
        modelId=TEXT, messages=user("Count from 1 to 5."),
        inferenceConfig={"maxTokens": 40, "temperature": 0, "stopSequences": ["3"]},
    )
    assert stopped["stopReason"] == "stop_sequence"
    assert stopped["output"]["message"]["content"][0]["text"] == text[: text.index("3")]


def test_converse_stream_matches_converse_at_temperature_zero(runtime):
    messages = user("Name three colours.")
    plain = runtime.converse(modelId=TEXT, messages=messages, inferenceConfig=GREEDY)
    kinds, text, events = stream_text(runtime.converse_stream(modelId=TEXT, messages=messages, inferenceConfig=GREEDY))
    assert text == plain["output"]["message"]["content"][0]["text"]
    assert kinds[0] == "messageStart" and kinds[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    assert events[-2]["messageStop"]["stopReason"] == plain["stopReason"]
    assert events[-1]["metadata"]["usage"] == plain["usage"]


def test_concurrent_streams_all_complete_and_agree(runtime):
    prompts = [f"Write one sentence about the number {i}." for i in range(8)]
    expected = {p: runtime.converse(modelId=TEXT, messages=user(p), inferenceConfig=GREEDY)["output"]["message"]["content"][0]["text"] for p in prompts[:2]}
    results = {}

    def run(prompt):
        results[prompt] = stream_text(runtime.converse_stream(modelId=TEXT, messages=user(prompt), inferenceConfig=GREEDY))[1]

    threads = [threading.Thread(target=run, args=(p,)) for p in prompts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and all(results.values())
    for prompt, text in expected.items():
        assert results[prompt] == text, "batched decoding must not change greedy output"


def test_invoke_model_text_and_stream(runtime):
    body = json.dumps({"prompt": "The sky is", "max_gen_len": 10, "temperature": 0})
    r = json.loads(runtime.invoke_model(modelId=TEXT, body=body)["body"].read())
    assert r["generation"] and r["prompt_token_count"] == 3 and r["generation_token_count"] == 10
    assert r["stop_reason"] == "length"
    arn = f"arn:aws:bedrock:us-east-1::foundation-model/{TEXT}"
    chunks = [json.loads(e["chunk"]["bytes"]) for e in runtime.invoke_model_with_response_stream(modelId=arn, body=body)["body"]]
    assert "".join(c["generation"] for c in chunks) == r["generation"]
    assert chunks[-1]["stop_reason"] == "length"
    assert chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 10


def test_invoke_model_embeddings(runtime):
    def embed(text):
        return json.loads(runtime.invoke_model(modelId=EMBED, body=json.dumps({"inputText": text}))["body"].read())

    a, b, c = embed("A cat sits on the mat."), embed("A kitten rests on a rug."), embed("Quarterly revenue grew 4%.")
    assert len(a["embedding"]) == 384 and a["inputTextTokenCount"] > 0
    dot = lambda x, y: sum(p * q for p, q in zip(x["embedding"], y["embedding"]))
    assert abs(dot(a, a) - 1) < 1e-4
    assert dot(a, b) > dot(a, c)


def test_count_tokens_matches_usage(runtime):
    messages = user("How many tokens is this?")
    counted = runtime.count_tokens(modelId=TEXT, input={"converse": {"messages": messages}})["inputTokens"]
    used = runtime.converse(modelId=TEXT, messages=messages, inferenceConfig={"maxTokens": 1})["usage"]["inputTokens"]
    assert counted == used
    body = json.dumps({"prompt": "The sky is"})
    assert runtime.count_tokens(modelId=TEXT, input={"invokeModel": {"body": body}})["inputTokens"] == 3


def test_list_foundation_models(bedrock):
    ids = [m["modelId"] for m in bedrock.list_foundation_models()["modelSummaries"]]
    assert TEXT in ids and EMBED in ids
    embeds = bedrock.list_foundation_models(byOutputModality="EMBEDDING")["modelSummaries"]
    assert [m["modelId"] for m in embeds] == [EMBED]
    assert bedrock.list_foundation_models(byProvider="nobody")["modelSummaries"] == []


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(modelId="no.such-model-v1:0", messages=user("hi")), "The provided model identifier is invalid."),
        (dict(modelId=TEXT, messages=user("hi"), inferenceConfig={"temperature": 5}), "inferenceConfig.temperature"),
        (dict(modelId=TEXT, messages=user("hi") + user("again")), "alternate"),
        (dict(modelId=TEXT, messages=user("word " * 9000)), "too long"),
        (dict(modelId=TEXT, messages=user("hi"), additionalModelRequestFields={"top_k": -1}), "top_k"),
    ],
)
def test_bad_converse_input_gets_the_right_exception(runtime, kwargs, needle):
    with pytest.raises(ClientError) as info:
        runtime.converse(**kwargs)
    error = info.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert needle in error["Message"]


@pytest.mark.parametrize(
    "body, field",
    [
        # botocore would refuse these before sending; other clients do send them.
        ({"messages": [{"role": "user", "content": [{"text": "a", "image": {}}]}]}, "messages[0].content[0]"),
        ({"messages": user("hi"), "inferenceConfig": {"maxTokens": 0}}, "inferenceConfig.maxTokens"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": [{"text": "a"}]}]}, "messages[0].role"),
    ],
)
def test_malformed_requests_are_validation_errors_naming_the_field(server, body, field):
    request = urllib.request.Request(f"{server.url}/model/{TEXT}/converse", data=json.dumps(body).encode(),
                                     method="POST", headers={"content-type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request)
    assert info.value.code == 400
    assert info.value.headers["x-amzn-ErrorType"] == "ValidationException"
    assert field in json.loads(info.value.read())["message"]


def test_openai_chat_plain_and_streamed(openai_client):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is the capital of France?"}]
    plain = openai_client.chat.completions.create(model=TEXT, messages=messages, max_tokens=24, temperature=0)
    text = plain.choices[0].message.content
    assert "Paris" in text and plain.usage.completion_tokens > 0
    streamed = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in openai_client.chat.completions.create(model=TEXT, messages=messages, max_tokens=24, temperature=0, stream=True)
        if chunk.choices
    )
    assert streamed == text


def test_openai_embeddings_and_models(openai_client):
    result = openai_client.embeddings.create(model=EMBED, input=["first text", "second text"])
    assert [d.index for d in result.data] == [0, 1] and len(result.data[0].embedding) == 384
    assert {m.id for m in openai_client.models.list()} >= {TEXT, EMBED}


def test_openai_errors_have_openai_shape(openai_client):
    import openai

    with pytest.raises(openai.BadRequestError) as info:
        openai_client.chat.completions.create(model=TEXT, messages=[], max_tokens=5)
    assert "messages" in str(info.value)
    with pytest.raises(openai.NotFoundError):
        openai_client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])


def test_converse_with_a_guardrail_checks_input_and_output(bedrock, runtime):
    import uuid

    gid = bedrock.create_guardrail(
        name=f"converse-{uuid.uuid4().hex[:8]}",
        wordPolicyConfig={"wordsConfig": [{"text": "bananas"}, {"text": "Paris"}]},
        blockedInputMessaging="I cannot talk about that.",
        blockedOutputsMessaging="I cannot answer that.",
    )["guardrailId"]
    config = {"guardrailIdentifier": gid, "guardrailVersion": "DRAFT", "trace": "enabled"}

    blocked_in = runtime.converse(modelId=TEXT, messages=user("Tell me about bananas."), guardrailConfig=config, inferenceConfig=GREEDY)
    assert blocked_in["stopReason"] == "guardrail_intervened"
    assert blocked_in["output"]["message"]["content"][0]["text"] == "I cannot talk about that."
    assert blocked_in["usage"]["outputTokens"] == 0
    words = blocked_in["trace"]["guardrail"]["inputAssessment"][gid]["wordPolicy"]["customWords"]
    assert words[0]["match"] == "bananas"

    question = user("What is the capital of France?")
    unguarded = runtime.converse(modelId=TEXT, messages=question, inferenceConfig=GREEDY)
    assert "Paris" in unguarded["output"]["message"]["content"][0]["text"]
    blocked_out = runtime.converse(modelId=TEXT, messages=question, guardrailConfig=config, inferenceConfig=GREEDY)
    assert blocked_out["stopReason"] == "guardrail_intervened"
    assert blocked_out["output"]["message"]["content"][0]["text"] == "I cannot answer that."
    assert blocked_out["trace"]["guardrail"]["outputAssessments"][gid][0]["wordPolicy"]["customWords"][0]["action"] == "BLOCKED"

    kinds, text, events = stream_text(runtime.converse_stream(
        modelId=TEXT, messages=question, inferenceConfig=GREEDY, guardrailConfig={**config, "streamProcessingMode": "sync"}))
    assert text == "I cannot answer that."
    assert events[-2]["messageStop"]["stopReason"] == "guardrail_intervened"

    allowed = runtime.converse(modelId=TEXT, messages=user("Name a colour."), guardrailConfig=config, inferenceConfig=GREEDY)
    assert allowed["stopReason"] != "guardrail_intervened"
