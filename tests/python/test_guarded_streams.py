"""ConverseStream under a guardrail: sync mode holds each chunk until it is checked (and masks
it), async mode streams first and checks behind; a block stops the generation in both."""

import re
import uuid

TEXT = "hf.smollm2-135m-instruct-v1:0"
LONG = {"maxTokens": 200, "temperature": 0}


def user(text):
    return [{"role": "user", "content": [{"text": text}]}]


def collect(response):
    events = list(response["stream"])
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    return text, events


def guardrail(bedrock, **policies):
    return bedrock.create_guardrail(
        name=f"stream-{uuid.uuid4().hex[:8]}",
        blockedInputMessaging="Input blocked.",
        blockedOutputsMessaging="Output blocked.",
        **policies,
    )["guardrailId"]


def test_sync_mode_masks_every_chunk_before_sending_it(bedrock, runtime):
    gid = guardrail(
        bedrock,
        sensitiveInformationPolicyConfig={"regexesConfig": [{"name": "article", "pattern": r"\bthe\b", "action": "ANONYMIZE"}]},
    )
    messages = user("Write a short story about a dog who finds a ball in the park.")
    plain, _ = collect(runtime.converse_stream(modelId=TEXT, messages=messages, inferenceConfig=LONG))
    assert re.search(r"\bthe\b", plain), plain
    config = {"guardrailIdentifier": gid, "guardrailVersion": "DRAFT", "trace": "enabled", "streamProcessingMode": "sync"}
    masked, events = collect(runtime.converse_stream(modelId=TEXT, messages=messages, inferenceConfig=LONG, guardrailConfig=config))
    # Chunks end at sentence ends, so masking chunk by chunk equals masking the whole text.
    assert masked == re.sub(r"\bthe\b", "{article}", plain)
    assert events[-2]["messageStop"]["stopReason"] == "guardrail_intervened"
    assessments = events[-1]["metadata"]["trace"]["guardrail"]["outputAssessments"][gid]
    assert len(assessments) >= 2, "a long answer is checked in several chunks"


def test_async_mode_streams_first_and_stops_on_a_block(bedrock, runtime):
    gid = guardrail(bedrock, wordPolicyConfig={"wordsConfig": [{"text": "Paris"}]})
    question = user("What is the capital of France?")
    config = {"guardrailIdentifier": gid, "guardrailVersion": "DRAFT", "streamProcessingMode": "async"}
    text, events = collect(runtime.converse_stream(modelId=TEXT, messages=question, inferenceConfig=LONG, guardrailConfig=config))
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    assert events[-2]["messageStop"]["stopReason"] == "guardrail_intervened"
    # Async cannot take back what it sent: the answer went out, then the blocked message.
    assert "Paris" in text and text.endswith("Output blocked.")

    sync = {**config, "streamProcessingMode": "sync"}
    text, events = collect(runtime.converse_stream(modelId=TEXT, messages=question, inferenceConfig=LONG, guardrailConfig=sync))
    assert text == "Output blocked."
    assert events[-2]["messageStop"]["stopReason"] == "guardrail_intervened"


def test_async_mode_passes_clean_answers_through(bedrock, runtime):
    gid = guardrail(bedrock, wordPolicyConfig={"wordsConfig": [{"text": "zyzzyva"}]})
    messages = user("Name three colours.")
    plain, _ = collect(runtime.converse_stream(modelId=TEXT, messages=messages, inferenceConfig=LONG))
    for mode in ("sync", "async"):
        config = {"guardrailIdentifier": gid, "guardrailVersion": "DRAFT", "streamProcessingMode": mode}
        text, events = collect(runtime.converse_stream(modelId=TEXT, messages=messages, inferenceConfig=LONG, guardrailConfig=config))
        assert text == plain, mode
        assert events[-2]["messageStop"]["stopReason"] in ("end_turn", "max_tokens")
