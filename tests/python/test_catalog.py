"""The model catalog through boto3's `bedrock` client: served models, the settings file's
`[model-aliases]` as foundation models and inference profiles, and unknown ids as Bedrock
answers them."""

import pytest
from botocore.exceptions import ClientError

from conftest import ALIASES

TEXT = "hf.smollm2-135m-instruct-v1:0"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
PROFILE = "us.anthropic.claude-3-haiku-20240307-v1:0"
GREEDY = {"maxTokens": 24, "temperature": 0}
QUESTION = [{"role": "user", "content": [{"text": "What is the capital of France?"}]}]


def test_aliases_are_listed_as_foundation_models(bedrock):
    summaries = {m["modelId"]: m for m in bedrock.list_foundation_models()["modelSummaries"]}
    assert {TEXT, HAIKU, "meta.llama3-8b-instruct-v1:0"} <= set(summaries)
    assert PROFILE not in summaries, "an inference profile is not a foundation model"
    haiku = summaries[HAIKU]
    assert haiku["providerName"] == "Anthropic"
    assert haiku["modelArn"] == f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"
    assert haiku["outputModalities"] == ["TEXT"] and haiku["responseStreamingSupported"] is True
    anthropic = bedrock.list_foundation_models(byProvider="anthropic")["modelSummaries"]
    assert [m["modelId"] for m in anthropic] == [HAIKU]


def test_get_foundation_model_by_id_and_by_arn(bedrock):
    details = bedrock.get_foundation_model(modelIdentifier=TEXT)["modelDetails"]
    assert details["modelId"] == TEXT and details["providerName"] == "Hugging Face"
    assert details["modelLifecycle"]["status"] == "ACTIVE"
    arn = f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"
    assert bedrock.get_foundation_model(modelIdentifier=arn)["modelDetails"]["modelId"] == HAIKU
    with pytest.raises(ClientError) as info:
        bedrock.get_foundation_model(modelIdentifier="no.such-model-v1:0")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_geography_prefixed_aliases_are_inference_profiles(bedrock):
    profiles = bedrock.list_inference_profiles()["inferenceProfileSummaries"]
    assert [p["inferenceProfileId"] for p in profiles] == [a for a in sorted(ALIASES) if a.startswith("us.")]
    profile = profiles[0]
    assert profile["status"] == "ACTIVE" and profile["type"] == "SYSTEM_DEFINED"
    assert profile["inferenceProfileArn"] == f"arn:aws:bedrock:us-east-1:000000000000:inference-profile/{PROFILE}"
    assert profile["models"] == [{"modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{TEXT}"}]
    assert bedrock.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"] == []

    got = bedrock.get_inference_profile(inferenceProfileIdentifier=PROFILE)
    assert got["inferenceProfileId"] == PROFILE and got["models"] == profile["models"]
    by_arn = bedrock.get_inference_profile(inferenceProfileIdentifier=profile["inferenceProfileArn"])
    assert by_arn["inferenceProfileId"] == PROFILE
    with pytest.raises(ClientError) as info:
        bedrock.get_inference_profile(inferenceProfileIdentifier="us.nobody.nothing-v1:0")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as info:
        bedrock.list_inference_profiles(typeEquals="SOMETIMES")
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert "typeEquals" in info.value.response["Error"]["Message"]


def test_an_alias_and_a_profile_arn_run_the_model_they_name(runtime):
    direct = runtime.converse(modelId=TEXT, messages=QUESTION, inferenceConfig=GREEDY)
    text = direct["output"]["message"]["content"][0]["text"]
    assert "Paris" in text
    for model_id in (HAIKU, PROFILE, f"arn:aws:bedrock:us-east-1:000000000000:inference-profile/{PROFILE}"):
        r = runtime.converse(modelId=model_id, messages=QUESTION, inferenceConfig=GREEDY)
        assert r["output"]["message"]["content"][0]["text"] == text, model_id


def test_an_unknown_model_id_is_a_validation_error_as_on_bedrock(runtime):
    for call in (
        lambda: runtime.converse(modelId="anthropic.claude-v9", messages=QUESTION),
        lambda: runtime.invoke_model(modelId="anthropic.claude-v9", body=b'{"prompt": "hi"}'),
    ):
        with pytest.raises(ClientError) as info:
            call()
        error = info.value.response["Error"]
        assert (error["Code"], error["Message"]) == ("ValidationException", "The provided model identifier is invalid.")
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
