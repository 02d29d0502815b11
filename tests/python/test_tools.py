"""Tool use and structured output with the real SmolLM2: boto3's converse / converse_stream
and the openai client. Calls are checked against their schema by an independent validator
(jsonschema), not by the server's own grammar."""

import json

import jsonschema
import pytest
from botocore.exceptions import ClientError

TEXT = "hf.smollm2-135m-instruct-v1:0"
GREEDY = {"maxTokens": 96, "temperature": 0}

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 40},
        "unit": {"enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer"},
    },
    "required": ["city", "unit"],
}
ADD = {
    "type": "object",
    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
    "required": ["a", "b"],
}
SCHEMAS = {"get_weather": WEATHER, "add": ADD}
TOOLS = [
    {"toolSpec": {"name": "get_weather", "description": "Current weather for a city", "inputSchema": {"json": WEATHER}}},
    {"toolSpec": {"name": "add", "description": "Add two numbers", "inputSchema": {"json": ADD}}},
]


def user(text):
    return [{"role": "user", "content": [{"text": text}]}]


def tool_config(choice=None):
    config = {"tools": TOOLS}
    if choice is not None:
        config["toolChoice"] = choice
    return config


def the_call(response):
    content = response["output"]["message"]["content"]
    calls = [block["toolUse"] for block in content if "toolUse" in block]
    assert len(calls) == 1, content
    return calls[0]


@pytest.mark.parametrize(
    "choice,question",
    [
        ({"any": {}}, "What is the weather in Paris?"),
        ({"any": {}}, "What is 12 plus 30?"),
        ({"tool": {"name": "get_weather"}}, "Is it cold in Oslo today?"),
        ({"tool": {"name": "add"}}, "Add 2 and 3."),
    ],
)
def test_forced_calls_are_valid_for_their_schema(runtime, choice, question):
    r = runtime.converse(modelId=TEXT, messages=user(question), toolConfig=tool_config(choice), inferenceConfig=GREEDY)
    assert r["stopReason"] == "tool_use"
    call = the_call(r)
    if "tool" in choice:
        assert call["name"] == choice["tool"]["name"]
    jsonschema.validate(call["input"], SCHEMAS[call["name"]])
    assert call["toolUseId"].startswith("tooluse_")
    # `any` answers with a call and no text.
    assert all("text" not in block for block in r["output"]["message"]["content"])


def test_auto_answers_with_text_or_a_valid_call(runtime):
    for question in ["What is the weather in Paris?", "Tell me a joke about cats."]:
        r = runtime.converse(modelId=TEXT, messages=user(question), toolConfig=tool_config(), inferenceConfig=GREEDY)
        content = r["output"]["message"]["content"]
        if r["stopReason"] == "tool_use":
            call = the_call(r)
            jsonschema.validate(call["input"], SCHEMAS[call["name"]])
        else:
            assert r["stopReason"] in ("end_turn", "max_tokens")
            assert content[0]["text"] and "<tool_call>" not in content[0]["text"]


def test_streamed_call_matches_the_plain_call(runtime):
    config = tool_config({"any": {}})
    plain = the_call(runtime.converse(modelId=TEXT, messages=user("Weather in Rome?"), toolConfig=config, inferenceConfig=GREEDY))
    events = list(
        runtime.converse_stream(modelId=TEXT, messages=user("Weather in Rome?"), toolConfig=config, inferenceConfig=GREEDY)["stream"]
    )
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[1] == "contentBlockStart"
    assert kinds[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    assert set(kinds[2:-3]) == {"contentBlockDelta"}
    start = events[1]["contentBlockStart"]
    assert start["contentBlockIndex"] == 0
    assert start["start"]["toolUse"]["name"] == plain["name"]
    assert start["start"]["toolUse"]["toolUseId"].startswith("tooluse_")
    streamed = "".join(e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events[2:-3])
    assert json.loads(streamed) == plain["input"]
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"
    assert events[-1]["metadata"]["usage"]["outputTokens"] > 0


def test_tool_results_continue_the_conversation(runtime):
    config = tool_config({"tool": {"name": "get_weather"}})
    first = runtime.converse(modelId=TEXT, messages=user("Weather in Paris?"), toolConfig=config, inferenceConfig=GREEDY)
    call = the_call(first)
    messages = user("Weather in Paris?") + [
        first["output"]["message"],
        {"role": "user", "content": [{"toolResult": {
            "toolUseId": call["toolUseId"],
            "content": [{"json": {"temperature": 21, "sky": "sunny"}}, {"text": "Light wind."}],
            "status": "success",
        }}]},
    ]
    r = runtime.converse(modelId=TEXT, messages=messages, toolConfig=tool_config(), inferenceConfig={"maxTokens": 40, "temperature": 0})
    assert r["stopReason"] in ("end_turn", "max_tokens", "tool_use")
    assert r["usage"]["inputTokens"] > first["usage"]["inputTokens"]


def test_structured_output_follows_the_schema(runtime):
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "languages": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        },
        "required": ["name", "age", "languages"],
        "additionalProperties": False,
    }
    r = runtime.converse(
        modelId=TEXT,
        messages=user("Describe Ada Lovelace, age 36, who knew English and French."),
        outputConfig={"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": json.dumps(schema), "name": "person"}}}},
        inferenceConfig={"maxTokens": 120, "temperature": 0},
    )
    assert r["stopReason"] == "end_turn"
    jsonschema.validate(json.loads(r["output"]["message"]["content"][0]["text"]), schema)


def validation_error(runtime, **kwargs):
    with pytest.raises(ClientError) as info:
        runtime.converse(modelId=TEXT, **kwargs)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    return info.value.response["Error"]["Message"]


def test_bad_tool_requests_name_the_field(runtime):
    call = {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}}
    result = {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "sunny"}]}}
    history = user("Weather?") + [{"role": "assistant", "content": [call]}, {"role": "user", "content": [result]}]
    assert "toolConfig field must be defined" in validation_error(runtime, messages=history)
    wrong_id = history[:2] + [{"role": "user", "content": [{"toolResult": {**result["toolResult"], "toolUseId": "tooluse_2"}}]}]
    assert "messages.2.content.0.toolResult.toolUseId" in validation_error(runtime, messages=wrong_id, toolConfig=tool_config())
    assert "toolConfig.toolChoice.tool.name" in validation_error(
        runtime, messages=user("x"), toolConfig=tool_config({"tool": {"name": "nope"}})
    )
    bad_schema = [{"toolSpec": {"name": "t", "inputSchema": {"json": {"type": "object", "properties": {"n": {"type": "int"}}}}}}]
    assert "toolConfig.tools.0.toolSpec.inputSchema.json.properties.n.type" in validation_error(
        runtime, messages=user("x"), toolConfig={"tools": bad_schema}
    )
    not_object = [{"toolSpec": {"name": "t", "inputSchema": {"json": {"type": "string"}}}}]
    assert "toolConfig.tools.0.toolSpec.inputSchema.json.type" in validation_error(
        runtime, messages=user("x"), toolConfig={"tools": not_object}
    )
    bad_name = [{"toolSpec": {"name": "two words", "inputSchema": {"json": {"type": "object"}}}}]
    assert "toolConfig.tools.0.toolSpec.name" in validation_error(runtime, messages=user("x"), toolConfig={"tools": bad_name})
    assert "outputConfig.textFormat.structure.jsonSchema.schema" in validation_error(
        runtime,
        messages=user("x"),
        outputConfig={"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": "{not json"}}}},
    )


OPENAI_TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "add", "description": "Add two numbers", "parameters": ADD}},
]


def test_openai_tool_calls_plain_and_streamed(openai_client):
    messages = [{"role": "user", "content": "What is the weather in Oslo?"}]
    r = openai_client.chat.completions.create(
        model=TEXT, messages=messages, tools=OPENAI_TOOLS, tool_choice="required", temperature=0, max_tokens=96
    )
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.id.startswith("call_")
    jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])

    forced = {"type": "function", "function": {"name": "get_weather"}}
    plain = openai_client.chat.completions.create(
        model=TEXT, messages=messages, tools=OPENAI_TOOLS, tool_choice=forced, temperature=0, max_tokens=96
    ).choices[0].message.tool_calls[0]
    name, arguments, finish = None, "", None
    for chunk in openai_client.chat.completions.create(
        model=TEXT, messages=messages, tools=OPENAI_TOOLS, tool_choice=forced, temperature=0, max_tokens=96, stream=True
    ):
        for delta in chunk.choices[0].delta.tool_calls or []:
            assert delta.index == 0
            name = delta.function.name or name
            arguments += delta.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert (name, finish) == ("get_weather", "tool_calls")
    assert json.loads(arguments) == json.loads(plain.function.arguments)

    history = messages + [
        {"role": "assistant", "content": None, "tool_calls": [{"id": call.id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo", "unit": "celsius"}'}}]},
        {"role": "tool", "tool_call_id": call.id, "content": "4 degrees and rain"},
    ]
    after = openai_client.chat.completions.create(model=TEXT, messages=history, tools=OPENAI_TOOLS, temperature=0, max_tokens=32)
    assert after.choices[0].finish_reason in ("stop", "length", "tool_calls")


def test_openai_json_response_formats(openai_client):
    r = openai_client.chat.completions.create(
        model=TEXT, messages=[{"role": "user", "content": "Give three colours as JSON."}],
        response_format={"type": "json_object"}, temperature=0, max_tokens=96,
    )
    assert isinstance(json.loads(r.choices[0].message.content), dict)
    schema = {"type": "object", "properties": {"capital": {"type": "string"}}, "required": ["capital"], "additionalProperties": False}
    r = openai_client.chat.completions.create(
        model=TEXT, messages=[{"role": "user", "content": "What is the capital of France?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}},
        temperature=0, max_tokens=64,
    )
    jsonschema.validate(json.loads(r.choices[0].message.content), schema)


def test_openai_bad_tools_are_bad_requests(openai_client):
    import openai

    with pytest.raises(openai.BadRequestError) as info:
        openai_client.chat.completions.create(
            model=TEXT, messages=[{"role": "user", "content": "x"}], tools=OPENAI_TOOLS,
            tool_choice={"type": "function", "function": {"name": "nope"}},
        )
    assert info.value.body["param"] == "tool_choice.function.name"
    with pytest.raises(openai.BadRequestError) as info:
        openai_client.chat.completions.create(
            model=TEXT, messages=[{"role": "user", "content": "x"}],
            tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"n": {"type": "int"}}}}}],
        )
    assert info.value.body["param"] == "tools[0].function.parameters.properties.n.type"


def test_auto_calls_after_earlier_calls_in_the_conversation(runtime):
    """The model follows the calls of earlier turns: `auto` turns its `<tool_` tag into a
    constrained call, streamed as a tool-use block."""

    def turn(city, weather, answer, n):
        tool_use_id = f"tooluse_{n}"
        return [
            {"role": "user", "content": [{"text": f"What is the weather in {city}?"}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": tool_use_id, "name": "get_weather", "input": {"city": city, "unit": "celsius"}}}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": tool_use_id, "content": [{"text": weather}]}}]},
            {"role": "assistant", "content": [{"text": answer}]},
        ]

    messages = turn("Rome", "sunny, 25C", "It is sunny and 25C in Rome.", 1)
    messages += turn("Berlin", "rain, 12C", "It is raining and 12C in Berlin.", 2)
    messages += user("What is the weather in Paris?")
    r = runtime.converse(modelId=TEXT, messages=messages, toolConfig=tool_config(), inferenceConfig=GREEDY)
    assert r["stopReason"] == "tool_use"
    call = the_call(r)
    assert call["name"] == "get_weather" and call["input"]["city"] == "Paris"
    jsonschema.validate(call["input"], WEATHER)
    events = list(runtime.converse_stream(modelId=TEXT, messages=messages, toolConfig=tool_config(), inferenceConfig=GREEDY)["stream"])
    starts = [e["contentBlockStart"] for e in events if "contentBlockStart" in e]
    assert [s["start"]["toolUse"]["name"] for s in starts] == ["get_weather"]
    streamed = "".join(e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e)
    assert json.loads(streamed) == call["input"]
