"""Prompt management through boto3's bedrock-agent client, unchanged, against a real server: the
control plane with versions, its errors, and a prompt ARN run as the `modelId` of Converse,
ConverseStream and InvokeModel on the real model."""

import json

import pytest
from botocore.exceptions import ClientError

SMOLLM2 = "hf.smollm2-135m-instruct-v1:0"


def text_variant(text, variables, max_tokens=8):
    return {
        "name": "main",
        "templateType": "TEXT",
        "modelId": SMOLLM2,
        "inferenceConfiguration": {"text": {"maxTokens": max_tokens, "temperature": 0.0}},
        "templateConfiguration": {"text": {"text": text, "inputVariables": [{"name": v} for v in variables]}},
    }


def test_prompt_lifecycle(agent):
    created = agent.create_prompt(
        name="py-lifecycle",
        description="a song",
        defaultVariant="main",
        variants=[text_variant("Name a {{genre}} song.", ["genre"])],
        tags={"team": "docs"},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    prompt_id = created["id"]
    assert created["version"] == "DRAFT"
    assert created["variants"][0]["templateConfiguration"]["text"]["inputVariables"] == [{"name": "genre"}]

    v1 = agent.create_prompt_version(promptIdentifier=prompt_id, description="first")
    assert (v1["version"], v1["description"]) == ("1", "first")
    agent.update_prompt(
        promptIdentifier=prompt_id,
        name="py-lifecycle",
        defaultVariant="main",
        variants=[text_variant("Name a {{genre}} song about {{topic}}.", ["genre", "topic"])],
    )
    v2 = agent.create_prompt_version(promptIdentifier=prompt_id)
    assert v2["version"] == "2"

    # A version is read by ARN (with its suffix) or by promptVersion, and does not change.
    by_arn = agent.get_prompt(promptIdentifier=v1["arn"])
    assert by_arn["variants"][0]["templateConfiguration"]["text"]["text"] == "Name a {{genre}} song."
    by_query = agent.get_prompt(promptIdentifier=prompt_id, promptVersion="2")
    assert "{{topic}}" in by_query["variants"][0]["templateConfiguration"]["text"]["text"]
    assert agent.get_prompt(promptIdentifier=prompt_id)["version"] == "DRAFT"

    versions = agent.list_prompts(promptIdentifier=prompt_id)["promptSummaries"]
    assert [s["version"] for s in versions] == ["DRAFT", "1", "2"]
    names = [s["name"] for page in agent.get_paginator("list_prompts").paginate(PaginationConfig={"PageSize": 1})
             for s in page["promptSummaries"]]
    assert "py-lifecycle" in names

    assert agent.delete_prompt(promptIdentifier=prompt_id, promptVersion="1")["version"] == "1"
    with pytest.raises(agent.exceptions.ResourceNotFoundException):
        agent.get_prompt(promptIdentifier=prompt_id, promptVersion="1")
    assert agent.delete_prompt(promptIdentifier=prompt_id)["id"] == prompt_id
    with pytest.raises(agent.exceptions.ResourceNotFoundException):
        agent.get_prompt(promptIdentifier=prompt_id)


def test_prompt_errors(agent):
    with pytest.raises(agent.exceptions.ValidationException) as error:
        agent.create_prompt(name="py-undeclared", variants=[text_variant("Hi {{who}}", [])])
    assert "who" in error.value.response["Error"]["Message"]
    with pytest.raises(agent.exceptions.ValidationException) as error:
        agent.create_prompt(name="py-mismatch", variants=[{**text_variant("x", []), "templateType": "CHAT"}])
    assert "templateConfiguration" in error.value.response["Error"]["Message"]
    agent.create_prompt(name="py-taken")
    with pytest.raises(agent.exceptions.ConflictException):
        agent.create_prompt(name="py-taken")
    with pytest.raises(agent.exceptions.ResourceNotFoundException):
        agent.get_prompt(promptIdentifier="PR00000000")


def test_client_token_makes_one_prompt(agent):
    token = "py-token-0123456789-0123456789-0123456789"
    first = agent.create_prompt(name="py-idempotent", clientToken=token)
    again = agent.create_prompt(name="py-idempotent", clientToken=token)
    assert first["id"] == again["id"]
    with pytest.raises(agent.exceptions.ConflictException):
        agent.create_prompt(name="py-idempotent", description="other", clientToken=token)


def chat_prompt(agent, name):
    created = agent.create_prompt(
        name=name,
        defaultVariant="main",
        variants=[{
            "name": "main",
            "templateType": "CHAT",
            "modelId": SMOLLM2,
            "inferenceConfiguration": {"text": {"maxTokens": 8, "temperature": 0.0}},
            "templateConfiguration": {"chat": {
                "system": [{"text": "Answer with one word."}],
                "messages": [{"role": "user", "content": [{"text": "What is the capital of {{country}}?"}]}],
                "inputVariables": [{"name": "country"}],
            }},
        }],
    )
    return agent.create_prompt_version(promptIdentifier=created["id"])["arn"]


def test_prompt_arn_as_model_id(agent, runtime):
    arn = chat_prompt(agent, "py-capital")
    variables = {"country": {"text": "France"}}
    answer = runtime.converse(modelId=arn, promptVariables=variables)
    text = answer["output"]["message"]["content"][0]["text"]
    assert text and answer["usage"]["outputTokens"] <= 8

    streamed = "".join(
        event["contentBlockDelta"]["delta"]["text"]
        for event in runtime.converse_stream(modelId=arn, promptVariables=variables)["stream"]
        if "contentBlockDelta" in event
    )
    assert streamed == text

    invoked = json.loads(runtime.invoke_model(modelId=arn, body=json.dumps({"promptVariables": variables}))["body"].read())
    assert invoked["generation"] == text

    with pytest.raises(runtime.exceptions.ValidationException) as error:
        runtime.converse(modelId=arn, promptVariables={"city": {"text": "Lima"}})
    message = error.value.response["Error"]["Message"]
    assert "country" in message
    with pytest.raises(runtime.exceptions.ValidationException):
        runtime.converse(modelId=arn, promptVariables=variables, inferenceConfig={"maxTokens": 4})
    with pytest.raises(ClientError) as error:
        runtime.converse(modelId=arn.rsplit(":", 1)[0] + ":99", promptVariables=variables)
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
